// One page_decoder decodes every page of a walk: thousands of full 200-job
// pages through one decoder must keep working (Boost 1.81's
// monotonic_resource::release() doubled the next block at every page until
// bad_alloc after ~40 pages) and give the same jobs every time.
#include "hss/page_decoder.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace hssjw {
namespace {

std::string big_page(std::size_t jobs) {
  std::string out = R"({"total_num":1000000,"last_update_time":77,"job_info_list":[)";
  for (std::size_t i = 0; i < jobs; ++i) {
    out += (i ? "," : "");
    out += R"({"cluster_name":"cluster-01","namespace_name":"batch","name":"report-)" +
           std::to_string(28'000'000 + i) +
           R"(","status":"Running","pods_num":1,"image_name":"registry.example/report:1.4.2",)"
           R"("match_labels":[{"key":"app","val":"report"},{"key":"controller-uid","val":"6f1c2c9e-2b1a-4c55-9a55-)" +
           std::to_string(100'000'000'000 + i) + R"("}],"create_time":1720765124000,"execute_time":1720765125000})";
  }
  return out + "]}";
}

TEST(PageDecoderReuse, ThousandsOfFullPagesThroughOneDecoder) {
  const std::string body = big_page(200);
  page_decoder dec(jobs_resource(), {});
  decoded_page first, page;
  std::string err;
  ASSERT_TRUE(dec.decode(body, first, err)) << err;
  ASSERT_EQ(first.jobs.size(), 200u);
  for (int i = 0; i < 2000; ++i) {
    ASSERT_TRUE(dec.decode(body, page, err)) << "page " << i << ": " << err;
    ASSERT_EQ(page.jobs.size(), 200u);
  }
  for (std::size_t i = 0; i < page.jobs.size(); ++i) {
    EXPECT_EQ(page.jobs[i].key, first.jobs[i].key);
    EXPECT_EQ(page.jobs[i].record.body, first.jobs[i].record.body);
    EXPECT_EQ(page.jobs[i].record.fingerprint, first.jobs[i].record.fingerprint);
  }
}

// The decoder sums the fingerprint while it walks the fields; a restart
// recomputes it from the stored body. The two must agree under every
// ignore set (known, unknown and key fields), or each restart would
// report every job modified.
TEST(PageDecoderReuse, WalkingFingerprintEqualsTheRestartFingerprint) {
  const std::string body = big_page(20);
  for (const std::vector<std::string>& ignore :
       std::vector<std::vector<std::string>>{{}, {"execute_time"}, {"pods_num", "status"},
                                             {"not_a_field"}, {"name", "match_labels"}}) {
    page_decoder dec(jobs_resource(), ignore);
    decoded_page page;
    std::string err;
    ASSERT_TRUE(dec.decode(body, page, err)) << err;
    ASSERT_EQ(page.jobs.size(), 20u);
    for (const auto& job : page.jobs)
      EXPECT_EQ(dec.fingerprint_of(job.record.body), job.record.fingerprint) << job.record.body;
  }
  // And ignoring a field changes the fingerprint (it is really left out).
  page_decoder all(jobs_resource(), {}), some(jobs_resource(), {"execute_time"});
  decoded_page a, b;
  std::string err;
  ASSERT_TRUE(all.decode(body, a, err) && some.decode(body, b, err)) << err;
  EXPECT_NE(a.jobs[0].record.fingerprint, b.jobs[0].record.fingerprint);
}

// A job already in the snapshot with the same digest comes back without a
// body (a steady walk renders none); any difference, in the fingerprint or
// in create_time, and it is rendered as usual.
TEST(PageDecoderReuse, KnownUnchangedJobsAreNotRendered) {
  const std::string body = big_page(6);
  page_decoder dec(jobs_resource(), {});
  decoded_page all, page;
  std::string err;
  ASSERT_TRUE(dec.decode(body, all, err)) << err;
  std::vector<std::string> asked;
  const known_job_fn known = [&](const job_key& key, const job_digest& digest) {
    asked.push_back(key.name);
    const auto& j = all.jobs[asked.size() - 1];
    EXPECT_EQ(key, j.key);
    if (key.name.ends_with("0")) return digest == job_digest{j.record.create_time, j.record.fingerprint};
    if (key.name.ends_with("1")) return digest == job_digest{j.record.create_time, j.record.fingerprint + 1};
    if (key.name.ends_with("2")) return digest == job_digest{std::nullopt, j.record.fingerprint};
    return false;
  };
  ASSERT_TRUE(dec.decode(body, page, err, &known)) << err;
  ASSERT_EQ(asked.size(), 6u);
  ASSERT_EQ(page.jobs.size(), 6u);
  for (std::size_t i = 0; i < 6; ++i) {
    EXPECT_EQ(page.jobs[i].key, all.jobs[i].key);
    EXPECT_EQ(page.jobs[i].record.fingerprint, all.jobs[i].record.fingerprint);
    EXPECT_EQ(page.jobs[i].record.create_time, all.jobs[i].record.create_time);
    EXPECT_EQ(page.jobs[i].record.body, i == 0 ? "" : all.jobs[i].record.body) << i;
  }
}

}  // namespace
}  // namespace hssjw
