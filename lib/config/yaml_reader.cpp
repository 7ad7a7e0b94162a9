// Reading the config's YAML: the file, the one document, the guards.
#include "config/yaml_reader.hpp"

#include <yaml-cpp/eventhandler.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <vector>

#include "config/loader.hpp"

namespace hssjw::config {
namespace {

namespace fs = std::filesystem;

// Largest config file we read: a guard against pointing --config at a
// device or a log file, far above any real config.
constexpr std::uintmax_t max_file_size = 4 * 1024 * 1024;

// yaml-cpp 0.7 (Debian 12) allocates without end when a node starts with
// the flow indicator ',' in block context (",x", "- a\n,"): the daemon
// would exhaust memory on a mistyped file or reload. Found by fuzz_config;
// such a line is never valid here, so it is refused before yaml-cpp sees it.
std::optional<error> runaway_guard(std::string_view yaml, const std::string& file_name) {
  int line = 1;
  for (std::size_t i = 0; i < yaml.size(); ++line) {
    const std::size_t end = std::min(yaml.find('\n', i), yaml.size());
    const std::size_t first = yaml.find_first_not_of(" \t", i);
    if (first < end && yaml[first] == ',')
      return config_error(file_name, line, static_cast<int>(first - i) + 1,
                          "invalid YAML: a line may not start with ','");
    i = end + 1;
  }
  return std::nullopt;
}

// Only the start of each document matters here.
struct document_starts final : YAML::EventHandler {
  std::vector<YAML::Mark> marks;
  void OnDocumentStart(const YAML::Mark& mark) override { marks.push_back(mark); }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
};

// A config is one YAML document. yaml-cpp 0.7's LoadAll loops without end,
// allocating an empty document per turn, when a token that cannot start a
// document follows the root node ('"a", b', '[a], b': found by fuzz_config),
// so the documents are counted here with a bound and never all built.
std::optional<error> second_document(std::string_view yaml, const std::string& file_name) {
  std::istringstream in{std::string(yaml)};
  YAML::Parser parser(in);
  document_starts starts;
  for (int turn = 0; turn < 2 && parser.HandleNextDocument(starts); ++turn) {
  }
  if (starts.marks.size() < 2) return std::nullopt;
  const YAML::Mark& m = starts.marks[1];
  std::string message = "expected one YAML document, found a second one here";
  const std::size_t at = static_cast<std::size_t>(std::max(m.pos, 0));
  if (at < yaml.size() && yaml.substr(at, 3) != "---") {
    const char c = yaml[at];
    // Appended, not `"..." + std::string`: g++ 12 warns falsely
    // (-Wrestrict, GCC bug 105329) on that once this is inlined.
    message = "invalid YAML: ";
    if (c > ' ' && c < 0x7f)
      message.append(1, '\'').append(1, c).append(1, '\'');
    else
      message += "a byte";
    message += " after the end of the document";
  }
  return config_error(file_name, m.line + 1, m.column + 1, message);
}

// The file cannot be read: the system's code, the message as any other.
error unreadable(std::error_code ec, const std::string& path, std::string_view message) {
  return error(boost::system::error_code(ec.value(), boost::system::system_category()),
               config_error(path, 0, 0, message).message());
}

}  // namespace

error error_at(const std::string& file, const YAML::Mark& where, std::string_view message) {
  if (where.is_null()) return config_error(file, 0, 0, message);
  return config_error(file, where.line + 1, where.column + 1, message);
}

result<std::string> read_file(const std::string& path) {
  std::error_code ec;
  auto size = fs::file_size(path, ec);
  if (ec) return unreadable(ec, path, "cannot read: " + ec.message());
  if (size > max_file_size)
    return config_error(path, 0, 0,
                        "too large for a config file (" + std::to_string(size) + " bytes)");
  std::ifstream in(path, std::ios::binary);
  // No errno to trust from a stream: EIO stands for "could not".
  const auto io = std::make_error_code(std::errc::io_error);
  if (!in) return unreadable(io, path, "cannot open for reading");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return unreadable(io, path, "read error");
  return text.str();
}

result<YAML::Node> read_document(std::string_view yaml, const std::string& file_name) {
  // In place: a YAML::Node can be made of anything, an error too.
  using boost::system::in_place_error;
  if (auto err = runaway_guard(yaml, file_name)) return {in_place_error, *err};
  try {
    if (auto err = second_document(yaml, file_name)) return {in_place_error, *err};
    return YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    return {in_place_error, error_at(file_name, e.mark, "invalid YAML: " + e.msg)};
  }
}

const char* kind_of(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Map:
      return "a mapping";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Scalar:
      return "a scalar";
    default:
      return "nothing (null)";
  }
}

bool is_plain(const YAML::Node& n) { return n.Tag() == "?"; }

}  // namespace hssjw::config
