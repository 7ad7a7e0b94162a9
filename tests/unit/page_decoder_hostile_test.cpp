// The page decoder against bodies Boost.JSON accepts but the daemon must
// not trust as they are: duplicated keys (the DOM silently keeps the last),
// numbers beyond int64 or beyond a double (infinity), plus what it must
// refuse outright: invalid UTF-8, lone surrogates, deep nesting. A rejected
// job makes the walk incomplete (never a removal); a bad page fails it.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <string>
#include <vector>

#include "hss/page_decoder.hpp"
#include "hss/page_hazards.hpp"

namespace hssjw {
namespace {

std::string job(const std::string& name, const std::string& extra = "") {
  return R"({"cluster_name":"c","namespace_name":"n","name":")" + name +
         R"(","status":"Running","create_time":1)" + extra + "}";
}

std::string page(const std::vector<std::string>& jobs,
                 const std::string& head = R"("total_num":)") {
  std::string s = "{" + head + std::to_string(jobs.size()) + R"(,"job_info_list":[)";
  for (std::size_t i = 0; i < jobs.size(); ++i) s += (i ? "," : "") + jobs[i];
  return s + "]}";
}

struct result {
  bool ok;
  decoded_page page;
  std::string error;
};

result decode(const std::string& body) {
  page_decoder dec(jobs_resource(), {});
  result r;
  auto decoded = dec.decode(body, r.page);
  r.ok = static_cast<bool>(decoded);
  if (!decoded) r.error = decoded.error().message();
  return r;
}

TEST(page_decoder_hostile, duplicated_key_field_rejects_that_job_only) {
  auto r = decode(
      page({job("a"), R"({"cluster_name":"c","namespace_name":"n","name":"b","name":"evil"})",
            job("c")}));
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.page.rejected, 1u);
  ASSERT_EQ(r.page.jobs.size(), 2u);
  EXPECT_EQ(r.page.jobs[0].key.name, "a");
  EXPECT_EQ(r.page.jobs[1].key.name, "c");
  EXPECT_EQ(r.page.reject_reason, "list item has a duplicated key \"name\"");
}

TEST(page_decoder_hostile, duplicated_key_deep_inside_a_job_rejects_it) {
  auto r =
      decode(page({job("a", R"(,"match_labels":[{"key":"k","key":"j","val":"v"}])"), job("b")}));
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.page.rejected, 1u);
  ASSERT_EQ(r.page.jobs.size(), 1u);
  EXPECT_EQ(r.page.jobs[0].key.name, "b");
}

TEST(page_decoder_hostile, duplicated_top_level_key_fails_the_page) {
  auto r = decode(R"({"total_num":1,"total_num":0,"job_info_list":[]})");
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error, "response has a duplicated key \"total_num\" at the top level");
  r = decode(R"({"total_num":1,"job_info_list":[],"job_info_list":[)" + job("a") + "]}");
  EXPECT_FALSE(r.ok);
}

TEST(page_decoder_hostile, same_key_in_sibling_objects_is_fine) {
  auto r = decode(page({job(
      "a", R"(,"match_labels":[{"key":"k","val":"1"},{"key":"j","val":"2"}],"x":{"name":1})")}));
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.page.rejected, 0u);
  EXPECT_EQ(r.page.jobs.size(), 1u);
}

TEST(page_decoder_hostile, escaped_duplicate_is_still_a_duplicate) {
  auto r =
      decode(page({R"({"cluster_name":"c","namespace_name":"n","name":"a","n\u0061me":"b"})"}));
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.page.rejected, 1u);
}

TEST(page_decoder_hostile, numbers_out_of_range) {
  // total_num beyond int64, or a double: not a page.
  for (std::string total : {"9223372036854775808", "18446744073709551616", "1e400", "3.0", "-1"}) {
    auto r = decode(R"({"total_num":)" + total + R"(,"job_info_list":[]})");
    EXPECT_FALSE(r.ok) << total;
    EXPECT_NE(r.error.find("total_num"), std::string::npos) << r.error;
  }
  // A typed field beyond int64: that job is rejected, naming the field.
  auto r = decode(page({job("a", R"(,"pods_num":9223372036854775808)"), job("b")}));
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.page.rejected, 1u);
  EXPECT_EQ(r.page.reject_reason, "pods_num is out of range");
  // An unknown field too large for a double would be stored as `Infinity`
  // (not JSON): rejected rather than kept.
  r = decode(page(
      {job("a", R"(,"future":{"deep":[1e400]})"), job("b", R"(,"tiny":-1e-400,"big":1.7e308)")}));
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.page.rejected, 1u);
  EXPECT_EQ(r.page.reject_reason, "list item has a number out of range");
  ASSERT_EQ(r.page.jobs.size(), 1u);
  boost::system::error_code ec;
  boost::json::parse(r.page.jobs[0].record.body, ec);
  EXPECT_FALSE(ec) << "stored body must read back: " << r.page.jobs[0].record.body;
}

TEST(page_decoder_hostile, non_utf8_and_lone_surrogates_fail_the_page) {
  for (std::string bad :
       {std::string("\xff\xfe"), std::string("\xc0\xaf"), std::string("\xed\xa0\x80"),
        std::string("\\ud800"), std::string("\\udc00x")}) {
    auto r = decode(page({job("a" + bad)}));
    EXPECT_FALSE(r.ok);
    EXPECT_NE(r.error.find("not valid JSON"), std::string::npos) << r.error;
  }
  auto r = decode(page({job("caf\xc3\xa9-\\u00e9-\\ud83d\\ude00")}));  // valid: accepted
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.page.jobs.at(0).key.name, "caf\xc3\xa9-\xc3\xa9-\xf0\x9f\x98\x80");
}

TEST(page_decoder_hostile, nesting_limit_holds_without_recursion_trouble) {
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  auto r = decode(page({job("a", R"(,"x":)" + deep)}));
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.error.find("not valid JSON"), std::string::npos) << r.error;
  // 28 levels inside a job still fits under the limit of 32.
  const std::string ok = std::string(28, '[') + std::string(28, ']');
  r = decode(page({job("a", R"(,"x":)" + ok)}));
  EXPECT_TRUE(r.ok) << r.error;
}

TEST(page_decoder_hostile, trailing_garbage_and_second_document_fail) {
  for (const std::string& tail : {std::string(" x"), std::string("{}"), std::string(1, '\0')}) {
    auto r = decode(page({job("a")}) + tail);
    EXPECT_FALSE(r.ok) << tail;
  }
}

TEST(page_hazards, scan_reports_per_item) {
  auto h = find_page_hazards(
      R"({"other":[{"a":1,"a":2}],"job_info_list":[1,{"x":{"a":1,"a":1}},[],{"y":1e999}],"z":1})",
      "job_info_list", 32);
  EXPECT_TRUE(h.root.empty());
  ASSERT_EQ(h.items.size(), 2u);
  EXPECT_EQ(h.items.at(1), "duplicated key \"a\"");
  EXPECT_EQ(h.items.at(3), "number out of range");
  EXPECT_TRUE(find_page_hazards("{not json", "job_info_list", 32).items.empty());
}

// Keys are checked by a scan up to 32 per object, by a hash set beyond:
// a duplicate is found on both sides of that line, and an escaped key is
// compared as the text it stands for.
TEST(page_hazards, duplicates_found_in_small_and_large_objects) {
  auto object_with = [](int keys, const std::string& extra) {
    std::string o = "{";
    for (int i = 0; i < keys; ++i) o += "\"k" + std::to_string(i) + "\":" + std::to_string(i) + ",";
    return o + extra + "}";
  };
  auto scan = [](const std::string& item) {
    return find_page_hazards(R"({"total_num":1,"job_info_list":[)" + item + "]}", "job_info_list",
                             32);
  };
  EXPECT_TRUE(scan(object_with(40, R"("last":1)")).items.empty());
  EXPECT_TRUE(scan(object_with(32, R"("last":1)")).items.empty());
  for (int keys : {3, 31, 32, 33, 40, 100}) {
    for (const std::string& dup : {std::string("k0"), "k" + std::to_string(keys - 1)}) {
      auto h = scan(object_with(keys, "\"" + dup + "\":7"));
      ASSERT_EQ(h.items.size(), 1u) << keys << " " << dup;
      EXPECT_EQ(h.items.at(0), "duplicated key \"" + dup + "\"");
    }
  }
  auto h = scan(R"({"a":1,"\u0061":2})");
  ASSERT_EQ(h.items.size(), 1u);
  EXPECT_EQ(h.items.at(0), "duplicated key \"a\"");
  // The same key in sibling and nested objects is no duplicate.
  EXPECT_TRUE(scan(R"({"a":{"a":1,"b":{"a":2}},"b":[{"a":1},{"a":2}]})").items.empty());
}

// The page is parsed once: the DOM the decoder works on and the hazards
// come from the same pass, so a hazard rejects exactly its job.
TEST(page_decoder_hostile, one_pass_rejects_exactly_the_hazardous_job) {
  std::string many;
  for (int i = 0; i < 50; ++i) many += ",\"x" + std::to_string(i) + "\":" + std::to_string(i);
  auto r = decode(
      page({job("a", many), job("b", many + R"(,"x7":1)"), job("c", R"(,"y":1e999)"), job("d")}));
  ASSERT_TRUE(r.ok) << r.error;
  ASSERT_EQ(r.page.jobs.size(), 2u);
  EXPECT_EQ(r.page.jobs[0].key.name, "a");
  EXPECT_EQ(r.page.jobs[1].key.name, "d");
  EXPECT_EQ(r.page.rejected, 2u);
  EXPECT_EQ(r.page.reject_reason, "list item has a duplicated key \"x7\"");
}

}  // namespace
}  // namespace hssjw
