// End-to-end on bert_tiny: the modules that own nodes are the ones that compute in eager
// PyTorch, and the export matches the committed ground-truth document.
#include <iostream>
#include <map>
#include <regex>
#include <set>

#include <gtest/gtest.h>

#include "e2e_support.h"
#include "test_support.h"

namespace modelexport::e2e {
namespace {

std::string describe(const std::set<std::string>& items) {
  std::string text;
  for (const auto& item : items) text += "\n  " + item;
  return text.empty() ? " (none)" : text;
}

// Modules of the eager model, from tests/tools/modules_running_ops.py: every ATen op
// the model runs is charged to the module whose forward is innermost when it runs.
TEST(BertHierarchy, ModulesOwningNodesAreExactlyTheModulesRunningOps) {
  auto exported = cachedExport("bert_tiny");
  ASSERT_TRUE(exported.ok) << exported.log;
  auto eager = runPython("tests/tools/modules_running_ops.py",
                         "--fixture bert_tiny --manifest " +
                             shellQuote(std::string(MODELEXPORT_FIXTURE_DIR) + "/fixtures.json"));
  ASSERT_EQ(eager.exitCode, 0) << eager.out << eager.err;
  auto eagerModules = nlohmann::json::parse(eager.out)["modules"];
  auto sidecar = readJson(exported.sidecarPath);

  std::map<std::string, std::string> tagOfPath;
  for (const auto& m : sidecar["modules"])
    tagOfPath[m["path"].get<std::string>()] = m["tag"].is_null() ? "" : m["tag"].get<std::string>();

  // Expected, from eager PyTorch alone: modules whose forward ran at least one op of its
  // own. (Dropout is an identity in eval mode and runs none; a ModuleList has no forward.)
  std::set<std::string> expected, expectedPaths;
  for (const auto& m : eagerModules) {
    const std::string path = m["path"];
    ASSERT_TRUE(tagOfPath.count(path)) << "module " << path << " of the eager model is not in the sidecar";
    if (m["own_ops"].get<int>() == 0) continue;
    expectedPaths.insert(path);
    EXPECT_FALSE(tagOfPath[path].empty()) << "module " << path << " runs ops but has no tag";
    expected.insert(tagOfPath[path]);
  }
  ASSERT_EQ(eagerModules.size(), tagOfPath.size()) << "the sidecar's module tree differs from named_modules()";

  std::set<std::string> owning;
  for (const auto& n : sidecar["nodes"]) owning.insert(n["hierarchy_path"].get<std::string>());

  std::set<std::string> missing, extra;
  for (const auto& t : expected)
    if (!owning.count(t)) missing.insert(t);
  for (const auto& t : owning)
    if (!expected.count(t)) extra.insert(t);
  EXPECT_TRUE(missing.empty()) << "modules that compute in PyTorch but own no ONNX node:" << describe(missing);
  EXPECT_TRUE(extra.empty()) << "modules that own ONNX nodes but run no op of their own in PyTorch:" << describe(extra);

  // Spot checks that do not depend on the eager run.
  for (const std::string tag : {"/BertModel/BertEncoder/BertLayer.1/BertAttention/BertSelfAttention/Linear.key",
                                "/BertModel/BertEmbeddings/Embedding.word_embeddings",
                                "/BertModel/BertEmbeddings/LayerNorm",
                                "/BertModel/BertPooler/Tanh"})
    EXPECT_TRUE(owning.count(tag)) << tag << " owns no node";
  for (const auto& [path, tag] : tagOfPath) {
    if (path.find("dropout") != std::string::npos) {
      EXPECT_FALSE(owning.count(tag)) << "Dropout " << path << " owns nodes";
    }
  }
  EXPECT_EQ(expectedPaths.count("encoder.layer.1.attention.self.key"), 1u);
}

struct DocumentRow {
  std::string path, className, tag;
  long own = -1, total = -1;
};

// The markdown table of docs/BERT_TINY_GROUND_TRUTH.md and its "Total ONNX nodes".
bool parseGroundTruth(const std::string& text, std::vector<DocumentRow>& rows, long& totalNodes) {
  totalNodes = -1;
  std::regex rowPattern(R"(^\| `([^`]*)` \| ([A-Za-z0-9_]+) \| `([^`]*)` \| ([0-9]+) \| ([0-9]+) \|$)");
  std::regex totalPattern(R"(^Total ONNX nodes: \*\*([0-9]+)\*\*$)");
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    std::smatch m;
    if (std::regex_match(line, m, rowPattern)) {
      rows.push_back({m[1] == "(root)" ? "" : m[1].str(), m[2], m[3] == "-" ? "" : m[3].str(),
                      std::stol(m[4]), std::stol(m[5])});
    } else if (std::regex_match(line, m, totalPattern)) {
      totalNodes = std::stol(m[1]);
    } else if (line.rfind("| `", 0) == 0) {
      return false;  // a table row we cannot read: the document format changed
    }
  }
  return totalNodes >= 0 && !rows.empty();
}

TEST(BertGroundTruth, MatchesCommittedDocument) {
  const std::string docPath = std::string(MODELEXPORT_SOURCE_DIR) + "/docs/BERT_TINY_GROUND_TRUTH.md";
  std::vector<DocumentRow> rows;
  long totalNodes = -1;
  ASSERT_TRUE(parseGroundTruth(readFile(docPath), rows, totalNodes)) << docPath << " has no readable table";

  auto exported = cachedExport("bert_tiny");
  ASSERT_TRUE(exported.ok) << exported.log;
  auto sidecar = readJson(exported.sidecarPath);
  const std::string regenerate = "regenerate with: /usr/bin/python3 tools/bert_ground_truth.py " +
                                 exported.sidecarPath + " --out docs/BERT_TINY_GROUND_TRUTH.md";

  EXPECT_EQ(totalNodes, static_cast<long>(sidecar["nodes"].size())) << "total node count drifted; " << regenerate;
  ASSERT_EQ(rows.size(), sidecar["modules"].size()) << "module count drifted; " << regenerate;
  for (size_t i = 0; i < rows.size(); ++i) {
    const auto& m = sidecar["modules"][i];
    const auto& row = rows[i];
    SCOPED_TRACE("module " + (row.path.empty() ? std::string("(root)") : row.path));
    EXPECT_EQ(row.path, m["path"].get<std::string>());
    EXPECT_EQ(row.className, m["class"].get<std::string>());
    EXPECT_EQ(row.tag, m["tag"].is_null() ? std::string() : m["tag"].get<std::string>());
    EXPECT_EQ(row.own, m["own_nodes"].get<long>()) << regenerate;
    EXPECT_EQ(row.total, m["total_nodes"].get<long>()) << regenerate;
  }

  // The generator agrees too (it renders the same sidecar into the committed text).
  auto check = runPython("tools/bert_ground_truth.py", shellQuote(exported.sidecarPath) + " --check " + shellQuote(docPath));
  EXPECT_EQ(check.exitCode, 0) << check.out << check.err;
}

}  // namespace
}  // namespace modelexport::e2e
