// One page_decoder decodes every page of a walk: thousands of full 200-job
// pages through one decoder must keep working (Boost 1.81's
// monotonic_resource::release() doubled the next block at every page until
// bad_alloc after ~40 pages) and give the same jobs every time.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "hss/page_decoder.hpp"

namespace hssjw {
namespace {

std::string big_page(std::size_t jobs) {
  std::string out = R"({"total_num":1000000,"last_update_time":77,"job_info_list":[)";
  for (std::size_t i = 0; i < jobs; ++i) {
    out += (i ? "," : "");
    out +=
        R"({"cluster_name":"cluster-01","namespace_name":"batch","name":"report-)" +
        std::to_string(28'000'000 + i) +
        R"(","status":"Running","pods_num":1,"image_name":"registry.example/report:1.4.2",)"
        R"("match_labels":[{"key":"app","val":"report"},{"key":"controller-uid","val":"6f1c2c9e-2b1a-4c55-9a55-)" +
        std::to_string(100'000'000'000 + i) +
        R"("}],"create_time":1720765124000,"execute_time":1720765125000})";
  }
  return out + "]}";
}

TEST(page_decoder_reuse, thousands_of_full_pages_through_one_decoder) {
  const std::string body = big_page(200);
  page_decoder dec(jobs_resource(), {});
  decoded_page first, page;
  ASSERT_TRUE(dec.decode(body, first));
  ASSERT_EQ(first.jobs.size(), 200u);
  for (int i = 0; i < 2000; ++i) {
    ASSERT_TRUE(dec.decode(body, page)) << "page " << i;
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
TEST(page_decoder_reuse, walking_fingerprint_equals_the_restart_fingerprint) {
  const std::string body = big_page(20);
  for (const std::vector<std::string>& ignore :
       std::vector<std::vector<std::string>>{{},
                                             {"execute_time"},
                                             {"pods_num", "status"},
                                             {"not_a_field"},
                                             {"name", "match_labels"}}) {
    page_decoder dec(jobs_resource(), ignore);
    decoded_page page;
    ASSERT_TRUE(dec.decode(body, page));
    ASSERT_EQ(page.jobs.size(), 20u);
    for (const auto& job : page.jobs)
      EXPECT_EQ(dec.fingerprint_of(job.record.body), job.record.fingerprint) << job.record.body;
  }
  // And ignoring a field changes the fingerprint (it is really left out).
  page_decoder all(jobs_resource(), {}), some(jobs_resource(), {"execute_time"});
  decoded_page a, b;
  ASSERT_TRUE(all.decode(body, a) && some.decode(body, b));
  EXPECT_NE(a.jobs[0].record.fingerprint, b.jobs[0].record.fingerprint);
}

// A job already in the snapshot with the same digest comes back as that
// snapshot entry only (no key strings, no body: a steady walk builds
// nothing per job); any difference, in the fingerprint or in create_time,
// and it is decoded as usual. Every accepted job is listed, in order, with
// the key hash and create_time the walk planner needs.
TEST(page_decoder_reuse, known_unchanged_jobs_are_not_built) {
  const std::string body = big_page(6);
  page_decoder dec(jobs_resource(), {});
  decoded_page all, page;
  ASSERT_TRUE(dec.decode(body, all));
  ASSERT_EQ(all.listed.size(), 6u);
  EXPECT_EQ(all.unchanged, 0u);
  std::vector<job_digest> snapshot(6);
  std::size_t asked = 0;
  const known_job_fn known = [&](std::uint64_t key_hash, const job_digest& digest) {
    const auto& j = all.jobs[asked];
    EXPECT_EQ(key_hash, key_hash_of(j.key));
    const std::size_t i = asked++;
    snapshot[i] = job_digest{j.record.create_time, j.record.fingerprint};
    if (i == 1) snapshot[i].fingerprint += 1;                      // changed
    if (i == 2) snapshot[i].created = job_digest::no_create_time;  // replaced
    if (i == 5) return false;                                      // not in the snapshot: new
    return snapshot[i] == digest;
  };
  ASSERT_TRUE(dec.decode(body, page, &known));
  ASSERT_EQ(asked, 6u);
  EXPECT_EQ(page.unchanged, 3u);  // jobs 0, 3 and 4
  ASSERT_EQ(page.jobs.size(), 3u);
  for (std::size_t k = 0; k < 3; ++k) {
    const auto& want = all.jobs[std::vector<std::size_t>{1, 2, 5}[k]];
    EXPECT_EQ(page.jobs[k].key, want.key);
    EXPECT_EQ(page.jobs[k].record.body, want.record.body);
    EXPECT_EQ(page.jobs[k].record.fingerprint, want.record.fingerprint);
  }
  ASSERT_EQ(page.listed.size(), 6u);
  for (std::size_t i = 0; i < 6; ++i) {
    EXPECT_EQ(page.listed[i].key_hash, key_hash_of(all.jobs[i].key));
    EXPECT_EQ(page.listed[i].create_time, all.jobs[i].record.create_time);
  }
}

}  // namespace
}  // namespace hssjw
