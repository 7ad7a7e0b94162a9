// describe (see described_error.hpp).
#include "hss/described_error.hpp"

#include <map>
#include <memory>
#include <mutex>
#include <tuple>

namespace hssjw {
namespace {

// Beyond this many distinct texts something is generating them (a proxy
// inventing reason phrases): stop growing.
constexpr std::size_t max_described = 256;

class described_category final : public boost::system::error_category {
 public:
  described_category(boost::system::error_code original, std::string text)
      : original_(original), text_(std::move(text)) {}
  const char* name() const noexcept override { return original_.category().name(); }
  std::string message(int) const override { return text_; }
  // What makes `described == errc::permission_denied` hold when the
  // original did.
  boost::system::error_condition default_error_condition(int) const noexcept override {
    return original_.default_error_condition();
  }

 private:
  boost::system::error_code original_;
  std::string text_;
};

using key = std::tuple<const boost::system::error_category*, int, std::string>;

struct registry {
  std::mutex mutex;
  std::map<key, std::unique_ptr<described_category>> categories;
};

registry& the_registry() {
  static registry* r = new registry;  // never destroyed: error codes may outlive main
  return *r;
}

}  // namespace

boost::system::error_code describe(boost::system::error_code ec, std::string text) {
  if (!ec) return ec;
  auto& r = the_registry();
  std::lock_guard lock(r.mutex);
  key k{&ec.category(), ec.value(), text};
  auto it = r.categories.find(k);
  if (it == r.categories.end()) {
    if (r.categories.size() >= max_described) return ec;
    it = r.categories
             .emplace(std::move(k), std::make_unique<described_category>(ec, std::move(text)))
             .first;
  }
  return {ec.value(), *it->second};
}

}  // namespace hssjw
