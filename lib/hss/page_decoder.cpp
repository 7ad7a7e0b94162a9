// Page decoding: one parse into a reused monotonic arena (finding the
// hazards in the same pass), validation against the resource table, and
// one serialisation per job.
#include "hss/page_decoder.hpp"

#include <algorithm>
#include <array>
#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <limits>

#include "hss/job_fields.hpp"
#include "hss/page_hazards.hpp"

namespace hssjw {

namespace json = boost::json;

// Real pages nest four levels (page, list, job, label); the limit stops a
// hostile body from exhausting the stack or the arena.
constexpr std::size_t max_json_depth = 32;

struct page_decoder::impl {
  const resource_def& resource;
  std::vector<std::string> ignore;
  // One arena per page over a first block reused for every page, sized so
  // that a 200-job page (~200 KB of DOM) never needs memory from upstream.
  // Not monotonic_resource::release(): in Boost 1.81 it frees the blocks
  // but keeps doubling the size of the next one, so the k-th page over
  // 64 KB asked for 2^k x 64 KB and a 40-page walk ended in bad_alloc.
  static constexpr std::size_t first_block_size = 1024 * 1024;
  std::unique_ptr<unsigned char[]> first_block{new unsigned char[first_block_size]};
  std::optional<json::monotonic_resource> arena;
  json::value_stack dom;  // its working stack is reused from page to page

  // What the decoder does with a top-level field of a job; every field of
  // the table (known, key, replace) has one, found by name.
  struct field_role {
    std::string_view name;
    const field_def* known = nullptr;  // type-checked
    int known_rank = 0;                // its place in the table: the first failure is reported
    int key_index = -1;                // 0..2: cluster, namespace, name
    bool replace = false;              // create_time: a different value means "replaced"
    bool ignored = false;              // in poll.ignore_fields: not in the fingerprint
    std::uint64_t name_hash = 0;       // for the fingerprint, computed once
  };
  std::vector<field_role> roles;

  impl(const resource_def& r, std::vector<std::string> ig) : resource(r), ignore(std::move(ig)) {
    build_roles();
  }

  void build_roles();
  const field_role* role_of(std::string_view name) const;
  bool is_ignored(std::string_view name) const;
  bool decode_job(json::value& v, keyed_job& out, listed_job& listed, bool& unchanged,
                  std::string& why, const known_job_fn* known) const;
  std::uint64_t fingerprint_of_body(std::string_view canonical_body) const;
};

namespace {

std::optional<std::int64_t> as_int64(const json::value& v) {
  if (v.is_int64()) return v.get_int64();
  if (v.is_uint64()) return std::nullopt;  // beyond int64: out of range
  return std::nullopt;
}

bool has_double(const json::value& v) {
  switch (v.kind()) {
    case json::kind::double_:
      return true;
    case json::kind::array:
      return std::any_of(v.get_array().begin(), v.get_array().end(), has_double);
    case json::kind::object:
      return std::any_of(v.get_object().begin(), v.get_object().end(),
                         [](const json::key_value_pair& kv) { return has_double(kv.value()); });
    default:
      return false;
  }
}

bool check_labels(json::value& v, std::string& why) {
  if (!v.is_array()) {
    why = "match_labels is not an array";
    return false;
  }
  for (auto& item : v.get_array()) {
    auto* o = item.if_object();
    const json::value* k = o ? o->if_contains("key") : nullptr;
    const json::value* val = o ? o->if_contains("val") : nullptr;
    if (!k || !k->is_string() || (val && !val->is_string() && !val->is_null())) {
      why = "match_labels entry is not {key: string, val: string}";
      return false;
    }
  }
  sort_labels(v.get_array());
  return true;
}

bool check_field(const field_def& f, json::value& v, std::string& why) {
  if (v.is_null()) return true;  // the SDKs treat null as absent
  switch (f.kind) {
    case field_kind::string:
      if (v.is_string()) return true;
      break;
    case field_kind::int64:
      if (as_int64(v)) return true;
      if (v.is_uint64()) {
        why = std::string(f.name) + " is out of range";
        return false;
      }
      break;
    case field_kind::label_list:
      return check_labels(v, why);
  }
  why = std::string(f.name) + " has the wrong JSON type";
  return false;
}

}  // namespace

void page_decoder::impl::build_roles() {
  auto role = [&](std::string_view name) -> field_role& {
    for (auto& r : roles)
      if (r.name == name) return r;
    return roles.emplace_back(field_role{name});
  };
  int rank = 0;
  for (const auto& f : resource.known_fields) {
    auto& r = role(f.name);
    r.known = &f;
    r.known_rank = rank++;
  }
  for (int i = 0; i < 3; ++i) role(resource.key_fields[i]).key_index = i;
  role(resource.replace_field).replace = true;
  for (auto& r : roles) {
    r.ignored = is_ignored(r.name);
    r.name_hash = field_name_hash(r.name);
  }
}

const page_decoder::impl::field_role* page_decoder::impl::role_of(std::string_view name) const {
  for (const auto& r : roles)
    if (r.name.size() == name.size() && r.name == name) return &r;
  return nullptr;
}

// One walk over the job's fields does the checks, finds the key and
// create_time, and sums the fingerprint: a per-field lookup into the
// object (a dozen of them per job) cost more than the whole parse.
bool page_decoder::impl::decode_job(json::value& v, keyed_job& out, listed_job& listed,
                                    bool& unchanged, std::string& why,
                                    const known_job_fn* known) const {
  auto* obj = v.if_object();
  if (!obj) {
    why = "list item is not an object";
    return false;
  }
  std::array<const json::string*, 3> keys{};
  const json::value* created = nullptr;
  int bad_rank = std::numeric_limits<int>::max();
  std::string bad_why;
  bool doubles = false;
  std::uint64_t fp = 0;
  for (auto& field : *obj) {
    json::value& value = field.value();
    const field_role* role = role_of(field.key());
    if (role) {
      std::string field_why;
      if (role->known && role->known_rank < bad_rank &&
          !check_field(*role->known, value, field_why)) {
        bad_rank = role->known_rank;
        bad_why = std::move(field_why);
      }
      if (role->key_index >= 0) keys[role->key_index] = value.if_string();
      if (role->replace) created = &value;
    }
    doubles = doubles || has_double(value);
    if (role)
      fp += role->ignored ? 0 : fingerprint_share(role->name_hash, value);
    else if (!is_ignored(field.key()))
      fp += fingerprint_share(field);
  }
  for (std::size_t i = 0; i < 3; ++i) {
    if (!keys[i]) {
      why = std::string("missing or non-string key field ") + std::string(resource.key_fields[i]);
      return false;
    }
  }
  if (bad_rank != std::numeric_limits<int>::max()) {
    why = std::move(bad_why);
    return false;
  }
  const job_key_view view{*keys[0], *keys[1], *keys[2]};
  std::optional<std::int64_t> create_time;
  if (created) create_time = as_int64(*created);
  listed = listed_job{key_hash_of(view), create_time};
  unchanged = !doubles && known && (*known)(listed.key_hash, job_digest{create_time, fp});
  if (unchanged) return true;  // most jobs of a steady walk: nothing to build
  out.key = job_key{std::string(view.cluster), std::string(view.ns), std::string(view.name)};
  out.key_hash = listed.key_hash;
  out.record.create_time = create_time;
  out.record.body = json::serialize(*obj);
  // Boost 1.81 parses decimals imprecisely, so a double may not survive
  // serialise -> parse: hash it as a restart will read it back, or the
  // job would look modified after every restart (found by fuzzing).
  out.record.fingerprint = doubles ? fingerprint_of_body(out.record.body) : fp;
  return true;
}

bool page_decoder::impl::is_ignored(std::string_view name) const {
  return std::find(ignore.begin(), ignore.end(), name) != ignore.end();
}

namespace {
// A body that is not a list page at all: the message says what it is instead.
error not_a_page(std::string message) { return {errc::bad_response, std::move(message)}; }
}  // namespace

page_decoder::page_decoder(const resource_def& resource, std::vector<std::string> ignore_fields)
    : impl_(std::make_unique<impl>(resource, std::move(ignore_fields))) {}
page_decoder::~page_decoder() = default;
page_decoder::page_decoder(page_decoder&&) noexcept = default;
page_decoder& page_decoder::operator=(page_decoder&&) noexcept = default;

result<void> page_decoder::decode(std::string_view body, decoded_page& out,
                                  const known_job_fn* known) {
  out = decoded_page{};
  auto& arena = impl_->arena.emplace(impl_->first_block.get(), impl::first_block_size);
  impl_->dom.reset(json::storage_ptr(&arena));
  page_hazards hazards;
  boost::system::error_code ec;
  json::value root =
      parse_page(body, impl_->resource.list_field, max_json_depth, impl_->dom, hazards, ec);
  if (ec) return not_a_page("response is not valid JSON: " + ec.message());
  auto* obj = root.if_object();
  if (!obj) return not_a_page("response is not a JSON object");
  if (!hazards.root.empty())
    return not_a_page("response has a " + hazards.root + " at the top level");
  const json::value* total = obj->if_contains(impl_->resource.total_field);
  auto total_num = total ? as_int64(*total) : std::nullopt;
  if (!total_num || *total_num < 0)
    return not_a_page(std::string("response has no valid ") +
                      std::string(impl_->resource.total_field));
  out.total_num = *total_num;
  if (!impl_->resource.last_update_field.empty()) {
    if (auto* lu = obj->if_contains(impl_->resource.last_update_field))
      out.last_update_time = as_int64(*lu);
  }
  json::value* list = obj->if_contains(impl_->resource.list_field);
  if (!list || list->is_null()) return {};  // an empty page may omit the list
  if (!list->is_array())
    return not_a_page(std::string(impl_->resource.list_field) + " is not an array");
  out.jobs.reserve(list->get_array().size());
  out.listed.reserve(list->get_array().size());
  std::size_t index = 0;
  for (auto& item : list->get_array()) {
    keyed_job job;
    std::string why;
    const auto hazard = hazards.items.find(index++);
    if (hazard != hazards.items.end()) why = "list item has a " + hazard->second;
    listed_job listed;
    bool unchanged = false;
    if (why.empty() && impl_->decode_job(item, job, listed, unchanged, why, known)) {
      out.listed.push_back(listed);
      if (unchanged)
        ++out.unchanged;
      else
        out.jobs.push_back(std::move(job));
    } else if (out.rejected++ == 0) {
      out.reject_reason = std::move(why);
    }
  }
  return {};
}

// Runs once per stored job at start-up (READY waits for it): the parse
// goes into a stack arena, so a typical body costs no heap allocation.
std::uint64_t page_decoder::fingerprint_of(std::string_view canonical_body) const {
  return impl_->fingerprint_of_body(canonical_body);
}

std::uint64_t page_decoder::impl::fingerprint_of_body(std::string_view canonical_body) const {
  unsigned char block[16 * 1024];
  json::monotonic_resource arena(block, sizeof block);
  json::parse_options opts;
  opts.max_depth = max_json_depth;
  boost::system::error_code ec;
  json::value v = json::parse(canonical_body, ec, json::storage_ptr(&arena), opts);
  if (ec || !v.is_object()) return 0;
  return fingerprint(v.get_object(), ignore);
}

}  // namespace hssjw
