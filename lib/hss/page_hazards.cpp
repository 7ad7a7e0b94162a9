// One SAX pass of Boost.JSON's basic_parser whose handler finds the
// hazards and, when asked, builds the DOM too (what json::parser's own
// handler does, with a value_stack), so a page is read once, not twice.
#include "hss/page_hazards.hpp"

#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/value_stack.hpp>
#include <cmath>
#include <cstring>
#include <memory>
#include <unordered_set>
#include <vector>

namespace hssjw {
namespace {

namespace json = boost::json;
using boost::system::error_code;

constexpr std::size_t none = static_cast<std::size_t>(-1);

// The keys of the open objects, innermost last, in one reused buffer: a
// job's object has a dozen short keys, so a linear scan over the frame's
// own keys beats hashing each into a set. An object with many keys (only
// a hostile page has them) moves to a hash set so that a scan cannot go
// quadratic.
class open_keys {
 public:
  static constexpr std::size_t scan_limit = 32;

  void open() { frames_.push_back(frame{spans_.size(), bytes_.size(), nullptr}); }
  void close() {
    spans_.resize(frames_.back().first_span);
    bytes_.resize(frames_.back().first_byte);
    frames_.pop_back();
  }
  // False when `key` is already a key of the innermost open object.
  bool insert(std::string_view key) {
    frame& f = frames_.back();
    if (f.many) return f.many->insert(std::string(key)).second;
    for (std::size_t i = f.first_span; i < spans_.size(); ++i) {
      const span& s = spans_[i];
      if (s.size == key.size() &&
          std::memcmp(bytes_.data() + s.offset, key.data(), key.size()) == 0)
        return false;
    }
    if (spans_.size() - f.first_span == scan_limit) {
      f.many = std::make_shared<std::unordered_set<std::string>>();
      for (std::size_t i = f.first_span; i < spans_.size(); ++i)
        f.many->emplace(bytes_.data() + spans_[i].offset, spans_[i].size);
      f.many->emplace(key);
      return true;
    }
    spans_.push_back(span{bytes_.size(), key.size()});
    bytes_.append(key);
    return true;
  }

 private:
  struct span {
    std::size_t offset, size;
  };
  struct frame {
    std::size_t first_span, first_byte;
    std::shared_ptr<std::unordered_set<std::string>> many;
  };
  std::vector<frame> frames_;
  std::vector<span> spans_;
  std::string bytes_;
};

class hazard_handler {
 public:
  static constexpr std::size_t max_array_size = json::array::max_size();
  static constexpr std::size_t max_object_size = json::object::max_size();
  static constexpr std::size_t max_string_size = json::string::max_size();
  static constexpr std::size_t max_key_size = json::string::max_size();

  // `dom` null: scan only.
  hazard_handler(std::string_view list_field, json::value_stack* dom)
      : list_field_(list_field), dom_(dom) {}

  page_hazards result;

  bool on_document_begin(error_code&) { return true; }
  bool on_document_end(error_code&) { return true; }
  bool on_array_begin(error_code&) {
    begin_value();
    const bool is_list = frames_.size() == 1 && root_key_is_list_;
    frames_.push_back(frame{false, is_list, 0});
    if (is_list) list_depth_ = frames_.size() - 1;
    return true;
  }
  bool on_array_end(std::size_t n, error_code&) {
    if (dom_) dom_->push_array(n);
    return end_container();
  }
  bool on_object_begin(error_code&) {
    begin_value();
    frames_.push_back(frame{true, false, 0});
    keys_.open();
    return true;
  }
  bool on_object_end(std::size_t n, error_code&) {
    if (dom_) dom_->push_object(n);
    keys_.close();
    return end_container();
  }
  bool on_string_part(json::string_view s, std::size_t, error_code&) {
    if (dom_) dom_->push_chars(s);
    return true;
  }
  bool on_string(json::string_view s, std::size_t, error_code&) {
    if (dom_) dom_->push_string(s);
    return scalar();
  }
  bool on_key_part(json::string_view s, std::size_t, error_code&) {
    if (dom_) dom_->push_chars(s);
    key_.append(s.data(), s.size());
    return true;
  }
  bool on_key(json::string_view s, std::size_t, error_code&) {
    if (dom_) dom_->push_key(s);
    std::string_view key(s.data(), s.size());
    if (!key_.empty()) key = key_.append(s.data(), s.size());
    if (!keys_.insert(key)) report("duplicated key \"" + printable(key) + "\"");
    if (frames_.size() == 1) root_key_is_list_ = key == list_field_;
    key_.clear();
    return true;
  }
  bool on_number_part(json::string_view, error_code&) { return true; }
  bool on_int64(std::int64_t i, json::string_view, error_code&) {
    if (dom_) dom_->push_int64(i);
    return scalar();
  }
  bool on_uint64(std::uint64_t u, json::string_view, error_code&) {
    if (dom_) dom_->push_uint64(u);
    return scalar();
  }
  bool on_double(double d, json::string_view, error_code&) {
    if (dom_) dom_->push_double(d);
    if (!std::isfinite(d) && in_item()) report("number out of range");
    return scalar();
  }
  bool on_bool(bool b, error_code&) {
    if (dom_) dom_->push_bool(b);
    return scalar();
  }
  bool on_null(error_code&) {
    if (dom_) dom_->push_null();
    return scalar();
  }
  bool on_comment_part(json::string_view, error_code&) { return true; }
  bool on_comment(json::string_view, error_code&) { return true; }

 private:
  struct frame {
    bool object;
    bool list;          // the top-level list array
    std::size_t count;  // arrays: elements begun so far
  };

  // Every value start: inside the list, it is the next item.
  void begin_value() {
    if (!frames_.empty() && frames_.back().list) item_ = frames_.back().count++;
  }
  bool scalar() {
    begin_value();
    return true;
  }
  bool end_container() {
    if (frames_.size() - 1 == list_depth_) list_depth_ = none;
    frames_.pop_back();
    return true;
  }
  bool in_item() const { return list_depth_ != none && frames_.size() > list_depth_ + 1; }

  void report(std::string what) {
    if (in_item())
      result.items.try_emplace(item_, std::move(what));
    else if (frames_.size() == 1 && result.root.empty())
      result.root = std::move(what);
    // Anywhere else (another top-level field) nothing of it is kept. At
    // the top level only duplicates matter: the fields read there are
    // type-checked, and a non-finite number is no int64.
  }

  // Keys end up in log lines: keep them short and printable.
  static std::string printable(std::string_view key) {
    std::string out;
    for (char c : key.substr(0, 64)) out += (c >= 0x20 && c < 0x7F && c != '"') ? c : '?';
    return out;
  }

  std::string_view list_field_;
  json::value_stack* dom_;
  std::vector<frame> frames_;
  open_keys keys_;
  std::string key_;  // a key delivered in parts
  bool root_key_is_list_ = false;
  std::size_t list_depth_ = none;
  std::size_t item_ = 0;
};

// One pass over a complete text (trailing garbage is an error), building
// the DOM on `dom` unless it is null.
page_hazards one_pass(std::string_view body, std::string_view list_field, std::size_t max_depth,
                      json::value_stack* dom, error_code& ec) {
  json::parse_options opts;
  opts.max_depth = max_depth;
  json::basic_parser<hazard_handler> p(opts, list_field, dom);
  const std::size_t used = p.write_some(false, body.data(), body.size(), ec);
  if (!ec && used != body.size()) ec = json::error::extra_data;
  if (ec) return {};
  return std::move(p.handler().result);
}

}  // namespace

page_hazards find_page_hazards(std::string_view body, std::string_view list_field,
                               std::size_t max_depth) {
  error_code ec;
  return one_pass(body, list_field, max_depth, nullptr, ec);
}

json::value parse_page(std::string_view body, std::string_view list_field, std::size_t max_depth,
                       json::value_stack& dom, page_hazards& hazards, error_code& ec) {
  hazards = one_pass(body, list_field, max_depth, &dom, ec);
  if (ec) return nullptr;
  return dom.release();
}

}  // namespace hssjw
