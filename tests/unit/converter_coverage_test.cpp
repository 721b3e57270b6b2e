// Every op table key with a converter has a converter test: the goldens that
// expectOpMatches writes (tests/golden/*.txt) list, per test, the keys whose converters
// ran in that test's export, and a golden's header is compared like the rest of it, so
// only a test that really converts an op can cover it. Keys tested only end to end are
// listed, each with its reason, in tests/unit/converters_without_unit_test.txt.
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>

#include "modelexport/convert_context.h"
#include "test_support.h"

namespace fs = std::filesystem;

namespace modelexport::testing {
namespace {

const std::string kAllowListPath = std::string(MODELEXPORT_SOURCE_DIR) + "/tests/unit/converters_without_unit_test.txt";

struct GoldenCoverage {
  std::map<std::string, std::string> coveredBy;  // key -> the first golden converting it
  std::vector<std::string> orphans;              // goldens whose test is gone
};

std::set<std::string> testsOfThisBinary() {
  std::set<std::string> names;
  const auto& unit = *::testing::UnitTest::GetInstance();
  for (int s = 0; s < unit.total_test_suite_count(); ++s) {
    const auto& suite = *unit.GetTestSuite(s);
    for (int t = 0; t < suite.total_test_count(); ++t)
      names.insert(std::string(suite.name()) + "." + suite.GetTestInfo(t)->name());
  }
  return names;
}

GoldenCoverage readGoldens() {
  GoldenCoverage coverage;
  const std::set<std::string> tests = testsOfThisBinary();
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(goldenDir()))
    if (entry.path().extension() == ".txt") files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  for (const auto& file : files) {
    std::ifstream in(file);
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind(kGoldenTestLine, 0) == 0 && !tests.count(line.substr(std::string(kGoldenTestLine).size())))
        coverage.orphans.push_back(file.filename().string() + " (" + line + ")");
      if (line.rfind(kGoldenConvertedLine, 0) != 0) continue;
      std::istringstream keys(line.substr(std::string(kGoldenConvertedLine).size()));
      std::string key;
      while (keys >> key) coverage.coveredBy.emplace(key, file.filename().string());
    }
  }
  return coverage;
}

// "key  # reason" lines; blank lines and lines starting with '#' are comments.
std::map<std::string, std::string> readAllowList() {
  std::map<std::string, std::string> reasons;
  std::ifstream in(kAllowListPath);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    std::string key;
    fields >> key;
    const size_t hash = line.find('#');
    reasons[key] = hash == std::string::npos ? "" : line.substr(hash + 1);
  }
  return reasons;
}

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += "\n  " + item;
  return out;
}

TEST(ConverterCoverage, EveryConverterHasAConverterTest) {
  const GoldenCoverage coverage = readGoldens();
  const auto allowed = readAllowList();
  const std::vector<std::string> kinds = defaultConverters().kinds();
  std::vector<std::string> missing, staleAllowed, noReason;
  for (const auto& kind : kinds)
    if (!coverage.coveredBy.count(kind) && !allowed.count(kind)) missing.push_back(kind);
  const std::set<std::string> registered(kinds.begin(), kinds.end());
  for (const auto& [key, reason] : allowed) {
    if (coverage.coveredBy.count(key))
      staleAllowed.push_back(key + " (now converted in " + coverage.coveredBy.at(key) + ")");
    else if (!registered.count(key))
      staleAllowed.push_back(key + " (not in the op table)");
    if (reason.find_first_not_of(' ') == std::string::npos) noReason.push_back(key);
  }
  EXPECT_TRUE(missing.empty())
      << missing.size() << " op table keys have a converter but no converter test converts them:" << joined(missing)
      << "\nAdd a test that converts each (tests/unit/*_converters_test.cpp with expectOpMatches; "
         "MODELEXPORT_UPDATE_GOLDENS=1 then writes its golden, which records the keys), or, when only an "
         "end-to-end test reaches it, list it with the reason in "
      << kAllowListPath;
  EXPECT_TRUE(staleAllowed.empty()) << "remove from " << kAllowListPath << ":" << joined(staleAllowed);
  EXPECT_TRUE(noReason.empty()) << "give the reason ('# ...') in " << kAllowListPath << " for:" << joined(noReason);
  EXPECT_TRUE(coverage.orphans.empty()) << "goldens of tests that no longer exist (delete them):"
                                        << joined(coverage.orphans);
}

// The golden comparison itself fails on a change and on a missing file, also when the
// update variable is set elsewhere in the environment.
class GoldenComparison : public ::testing::Test {
 protected:
  void SetUp() override {
    if (const char* update = std::getenv("MODELEXPORT_UPDATE_GOLDENS")) saved_ = update;
    unsetenv("MODELEXPORT_UPDATE_GOLDENS");
    dir_ = freshWorkDir("golden_comparison");
    model_.mutable_graph()->add_node()->set_op_type("Relu");
    auto* add = model_.mutable_graph()->add_node();
    add->set_op_type("Concat");
    auto* axis = add->add_attribute();
    axis->set_name("axis");
    axis->set_type(onnx::AttributeProto::INT);
    axis->set_i(1);
  }
  void TearDown() override {
    if (!saved_.empty()) setenv("MODELEXPORT_UPDATE_GOLDENS", saved_.c_str(), 1);
  }
  std::string saved_, dir_;
  onnx::ModelProto model_;
};

TEST_F(GoldenComparison, TextListsTestKeysOpsAndAttributes) {
  EXPECT_EQ(opSequenceGolden(model_, {"aten::cat", "aten::relu"}),
            "# test: GoldenComparison.TextListsTestKeysOpsAndAttributes\n"
            "# converted: aten::cat aten::relu\n"
            "Relu\n"
            "Concat axis=1\n");
}

TEST_F(GoldenComparison, MissingGoldenFails) {
  EXPECT_NONFATAL_FAILURE(expectGolden("absent", model_, {}, dir_), "no golden");
  EXPECT_FALSE(fs::exists(dir_ + "/absent.txt"));
}

TEST_F(GoldenComparison, ChangedOpsFailAndTheUpdateVariableRewrites) {
  setenv("MODELEXPORT_UPDATE_GOLDENS", "1", 1);
  expectGolden("ops", model_, {"aten::relu"}, dir_);
  unsetenv("MODELEXPORT_UPDATE_GOLDENS");
  expectGolden("ops", model_, {"aten::relu"}, dir_);  // the same: passes
  model_.mutable_graph()->mutable_node(1)->mutable_attribute(0)->set_i(0);
  EXPECT_NONFATAL_FAILURE(expectGolden("ops", model_, {"aten::relu"}, dir_), "Concat axis=0");
  EXPECT_NONFATAL_FAILURE(expectGolden("ops", model_, {"aten::cat"}, dir_), "# converted: aten::cat");
}

}  // namespace
}  // namespace modelexport::testing
