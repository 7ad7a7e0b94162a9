// The hazard scan: Boost.JSON's SAX parser with a handler that keeps, per
// open object, the keys seen so far, and knows which list item it is in.
#include "hss/page_hazards.hpp"

#include <boost/json/basic_parser_impl.hpp>

#include <cmath>
#include <unordered_set>
#include <vector>

namespace hssjw {
namespace {

namespace json = boost::json;
using boost::system::error_code;

constexpr std::size_t none = static_cast<std::size_t>(-1);

class hazard_handler {
 public:
  static constexpr std::size_t max_array_size = -1;
  static constexpr std::size_t max_object_size = -1;
  static constexpr std::size_t max_string_size = -1;
  static constexpr std::size_t max_key_size = -1;

  explicit hazard_handler(std::string_view list_field) : list_field_(list_field) {}

  page_hazards result;

  bool on_document_begin(error_code&) { return true; }
  bool on_document_end(error_code&) { return true; }
  bool on_array_begin(error_code&) {
    begin_value();
    const bool is_list = frames_.size() == 1 && root_key_is_list_;
    frames_.push_back(frame{false, is_list, 0, {}});
    if (is_list) list_depth_ = frames_.size() - 1;
    return true;
  }
  bool on_array_end(std::size_t, error_code&) { return end_container(); }
  bool on_object_begin(error_code&) {
    begin_value();
    frames_.push_back(frame{true, false, 0, {}});
    return true;
  }
  bool on_object_end(std::size_t, error_code&) { return end_container(); }
  bool on_string_part(json::string_view, std::size_t, error_code&) { return true; }
  bool on_string(json::string_view, std::size_t, error_code&) { return scalar(); }
  bool on_key_part(json::string_view s, std::size_t, error_code&) {
    key_.append(s.data(), s.size());
    return true;
  }
  bool on_key(json::string_view s, std::size_t, error_code&) {
    key_.append(s.data(), s.size());
    if (!frames_.back().keys.insert(key_).second) report("duplicated key \"" + printable_key() + "\"");
    if (frames_.size() == 1) root_key_is_list_ = key_ == list_field_;
    key_.clear();
    return true;
  }
  bool on_number_part(json::string_view, error_code&) { return true; }
  bool on_int64(std::int64_t, json::string_view, error_code&) { return scalar(); }
  bool on_uint64(std::uint64_t, json::string_view, error_code&) { return scalar(); }
  bool on_double(double d, json::string_view, error_code&) {
    if (!std::isfinite(d) && in_item()) report("number out of range");
    return scalar();
  }
  bool on_bool(bool, error_code&) { return scalar(); }
  bool on_null(error_code&) { return scalar(); }
  bool on_comment_part(json::string_view, error_code&) { return true; }
  bool on_comment(json::string_view, error_code&) { return true; }

 private:
  struct frame {
    bool object;
    bool list;          // the top-level list array
    std::size_t count;  // arrays: elements begun so far
    std::unordered_set<std::string> keys;
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
    if (in_item()) result.items.try_emplace(item_, std::move(what));
    else if (frames_.size() == 1 && result.root.empty()) result.root = std::move(what);
    // Anywhere else (another top-level field) nothing of it is kept. At
    // the top level only duplicates matter: the fields read there are
    // type-checked, and a non-finite number is no int64.
  }

  // Keys end up in log lines: keep them short and printable.
  std::string printable_key() const {
    std::string out;
    for (char c : key_.substr(0, 64)) out += (c >= 0x20 && c < 0x7F && c != '"') ? c : '?';
    return out;
  }

  std::string_view list_field_;
  std::vector<frame> frames_;
  std::string key_;
  bool root_key_is_list_ = false;
  std::size_t list_depth_ = none;
  std::size_t item_ = 0;
};

}  // namespace

page_hazards find_page_hazards(std::string_view body, std::string_view list_field,
                               std::size_t max_depth) {
  json::parse_options opts;
  opts.max_depth = max_depth;
  json::basic_parser<hazard_handler> p(opts, list_field);
  error_code ec;
  p.write_some(false, body.data(), body.size(), ec);
  if (ec) return {};
  return std::move(p.handler().result);
}

}  // namespace hssjw
