// Inputs the fuzzers (tests/fuzz) found crashing, kept as plain tests so
// the normal and the sanitizer suites replay them. Each names its target
// and what was wrong. (HTTP response findings: http_response_parse_test.)
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "config/loader.hpp"
#include "hss/page_decoder.hpp"
#include "unit/config_error_parts.hpp"

namespace hssjw {
namespace {

// fuzz_config, crash-e81824a4 (the seed corpus itself, under ASan):
// parse_map bound references to yaml-cpp's it->first / it->second, which
// live in a temporary proxy: stack-use-after-scope on every mapping.
TEST(fuzz_regression, config_mapping_keys_outlive_the_iterator_proxy) {
  auto r = config::load_string(
      "region: cn-north-4\nprojects:\n  - id: p1\nauth: {method: token, token_file: /run/token}\n"
      "proxy: http://u:pw@proxy:3128\npoll: {rate: 5/min, interval: 30s, retry: {attempts: 3}}\n",
      "/etc/hss-jobwatch/config.yaml");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->poll.retry.attempts, 3u);
  EXPECT_EQ(r->poll.rate.count, 5u);
}

// fuzz_config, timeout-5b655d4f and timeout-a49eb0aa: yaml-cpp 0.7 runs
// out of memory (bad_alloc after gigabytes) on a node starting with ','.
// Refused up front with a position; a ',' elsewhere still works.
TEST(fuzz_regression, config_line_starting_with_a_comma_is_refused_before_yaml_cpp) {
  for (const std::string& yaml :
       std::vector<std::string>{",", ", }", "  ,x", "- a\n,", "projects:\n  - id: p1\n,}]}"}) {
    auto r = config::load_string(yaml, "/etc/hss-jobwatch/config.yaml");
    ASSERT_FALSE(r) << yaml;
    EXPECT_NE(r.error().message().find("may not start with ','"), std::string::npos)
        << r.error().message();
  }
  auto r = config::load_string(
      "region: cn-north-4\nprojects: [{id: p1,}]\nauth: {method: token, token_file: /t}\n",
      "/c.yaml");
  EXPECT_TRUE(r) << r.error().message();
}

// fuzz_config, timeout-be0dfa8b (and CI run 9): yaml-cpp 0.7's LoadAll
// loops without end when ',' follows a root node that is quoted or a flow
// collection. The documents are now counted with a bound: a clear error
// with the position, in milliseconds.
TEST(fuzz_regression, config_content_after_the_root_node_is_refused) {
  struct bad {
    std::string yaml;
    int line, column;
  };
  for (const bad& b : std::vector<bad>{{"\"ab\", c\n", 1, 5},
                                       {"'a', b\n", 1, 4},
                                       {"[a], b\n", 1, 4},
                                       {"{a: 1}, b\n", 1, 7},
                                       {"&x \"a\" , b\n", 1, 8},
                                       {"\" a\nb\", team-a]\npo_info\n", 2, 3}}) {
    auto r = config::load_string(b.yaml, "/etc/hss-jobwatch/config.yaml");
    ASSERT_FALSE(r) << b.yaml;
    const config::error_parts e = config::parts_of(r.error(), "/etc/hss-jobwatch/config.yaml");
    EXPECT_EQ(e.message, "invalid YAML: ',' after the end of the document") << b.yaml;
    EXPECT_EQ(e.line, b.line) << b.yaml;
    EXPECT_EQ(e.column, b.column) << b.yaml;
  }
}

// fuzz_page_decoder, crash-884f5f19: an integer beyond uint64 parses as a
// double, imprecisely in Boost 1.81, and does not survive serialise ->
// parse; the stored body then fingerprinted differently after a restart,
// which would report the job as modified: a false event.
TEST(fuzz_regression, doubles_fingerprint_as_a_restart_reads_them) {
  page_decoder dec(jobs_resource(), {});
  decoded_page page;
  const std::string body =
      R"({"total_num":3,"job_info_list":[{"clamespace_name":"n","name":"a","name":"b"},)"
      R"({"cluster_name":"c","namespace_name":"n","name":"x","pods_nucr_namem":9223372023372036854775809},)"
      R"({"cluster_name":"c","namespace_name":"n","name":"y","f":[0.1,1e-300,123456789.123456789e200,-0.0]}]})";
  ASSERT_TRUE(dec.decode(body, page));
  ASSERT_EQ(page.jobs.size(), 2u);
  for (const auto& job : page.jobs)
    EXPECT_EQ(dec.fingerprint_of(job.record.body), job.record.fingerprint) << job.record.body;
}

}  // namespace
}  // namespace hssjw
