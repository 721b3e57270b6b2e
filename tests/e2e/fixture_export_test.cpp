// End-to-end: the real binary exports every fixture; the ONNX file passes the checker,
// runs in onnxruntime like LibTorch, carries the hierarchy stamps on every node, agrees
// with torch.onnx's module scopes and is the same file on every export.
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>

#include <gtest/gtest.h>

#include "e2e_support.h"
#include "modelexport/node_metadata.h"
#include "test_support.h"

namespace fs = std::filesystem;

namespace modelexport::e2e {
namespace {

// Parses a Python list repr of strings ("['', 'encoder']"), as PyTorch writes
// pkg.torch.onnx.name_scopes. Returns false when the text is not such a list.
bool parsePythonStringList(const std::string& text, std::vector<std::string>& items) {
  items.clear();
  size_t i = 0;
  auto skipSpaces = [&] { while (i < text.size() && text[i] == ' ') ++i; };
  if (text.empty() || text[i++] != '[') return false;
  skipSpaces();
  if (i < text.size() && text[i] == ']') return i + 1 == text.size();
  while (i < text.size()) {
    if (text[i] != '\'') return false;
    std::string item;
    for (++i; i < text.size() && text[i] != '\''; ++i) {
      if (text[i] == '\\' && i + 1 < text.size()) ++i;
      item += text[i];
    }
    if (i >= text.size()) return false;
    ++i;
    items.push_back(item);
    skipSpaces();
    if (i < text.size() && text[i] == ']') return i + 1 == text.size();
    if (i >= text.size() || text[i] != ',') return false;
    ++i;
    skipSpaces();
  }
  return false;
}

// The fixtures' own example inputs and LibTorch's outputs on them, in
// BUILD/test-work/e2e/manifest_io/FIXTURE: made for every fixture by one make_io.py --fixture
// process (makeFixtureIo) the first time a test of this process asks for them. The inputs
// exist only as tools/fixture_models.py code, so Python makes them.
struct ManifestIo {
  CommandResult made;
  std::map<std::string, std::string> ioDirs;
};
const ManifestIo& manifestIo() {
  static const ManifestIo io = [] {
    ManifestIo result;
    std::vector<std::pair<std::string, std::string>> pairs;
    for (const auto& fixture : fixtureNames()) {
      result.ioDirs[fixture] = freshWorkDir("e2e/manifest_io/" + fixture);
      pairs.emplace_back(fixture, result.ioDirs[fixture]);
    }
    result.made = makeFixtureIo(pairs);
    return result;
  }();
  return io;
}

class FixtureExportTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    exported_ = cachedExport(GetParam());
    ASSERT_TRUE(exported_.ok) << "export of " << GetParam() << " failed:\n" << exported_.log;
  }
  FixtureExport exported_;
};

TEST_P(FixtureExportTest, PassesOnnxCheckerFullCheck) {
  auto check = pythonOnnxCheck(exported_.onnxPath);
  EXPECT_EQ(check.exitCode, 0) << check.output;
  EXPECT_NE(check.output.find("onnx checker: OK"), std::string::npos) << check.output;
}

TEST_P(FixtureExportTest, OnnxRuntimeMatchesLibTorchOnDumpedInputs) {
  auto ort = ortCheck(exported_.onnxPath, exported_.ioDir, 1e-4);
  EXPECT_EQ(ort.exitCode, 0) << ort.output;
  EXPECT_NE(ort.output.find("ort_check: OK"), std::string::npos) << ort.output;
}

// The fixture's own example inputs with the manifest's dtypes (int64 ids and masks, a
// real padding mask), as a user would feed them; outputs from LibTorch in Python.
TEST_P(FixtureExportTest, OnnxRuntimeMatchesLibTorchOnManifestInputs) {
  const std::string& fixture = GetParam();
  const auto& manifestIoDirs = manifestIo();
  ASSERT_EQ(manifestIoDirs.made.exitCode, 0) << manifestIoDirs.made.out << manifestIoDirs.made.err;
  const std::string& ioDir = manifestIoDirs.ioDirs.at(fixture);

  auto io = readJson(ioDir + "/io.json");
  const auto& entry = manifestEntry(fixture);
  ASSERT_EQ(io["inputs"].size(), entry["inputs"].size());
  for (size_t i = 0; i < entry["inputs"].size(); ++i)
    EXPECT_EQ(io["inputs"][i]["dtype"], entry["inputs"][i]["dtype"]) << "input " << i;

  // The ONNX inputs must have the manifest's names and dtypes, or onnxruntime refuses.
  auto model = loadModel(exported_.onnxPath);
  ASSERT_EQ(model.graph().input_size(), static_cast<int>(entry["inputs"].size()));
  for (int i = 0; i < model.graph().input_size(); ++i) {
    const auto& input = model.graph().input(i);
    EXPECT_EQ(input.name(), entry["inputs"][i]["name"].get<std::string>());
    const int elemType = input.type().tensor_type().elem_type();
    const std::string dtype = entry["inputs"][i]["dtype"];
    EXPECT_EQ(elemType, dtype == "int64" ? onnx::TensorProto::INT64 : onnx::TensorProto::FLOAT)
        << input.name() << " should be " << dtype;
  }

  auto ort = ortCheck(exported_.onnxPath, ioDir, 1e-4);
  EXPECT_EQ(ort.exitCode, 0) << ort.output;
  EXPECT_NE(ort.output.find("ort_check: OK"), std::string::npos) << ort.output;
}

TEST_P(FixtureExportTest, EveryNodeCarriesConsistentHierarchyStamps) {
  auto model = loadModel(exported_.onnxPath);
  auto sidecar = readJson(exported_.sidecarPath);

  std::map<std::string, nlohmann::json> moduleByTag;
  std::map<std::string, nlohmann::json> moduleByPath;
  for (const auto& m : sidecar["modules"]) {
    moduleByPath[m["path"].get<std::string>()] = m;
    if (m["tag"].is_null()) continue;
    const std::string tag = m["tag"];
    EXPECT_TRUE(moduleByTag.emplace(tag, m).second) << "two modules share the tag " << tag;
  }
  ASSERT_TRUE(moduleByPath.count("")) << "no root module in the sidecar";
  ASSERT_FALSE(moduleByTag.empty());

  const auto& graph = model.graph();
  ASSERT_GT(graph.node_size(), 0);
  ASSERT_EQ(sidecar["nodes"].size(), static_cast<size_t>(graph.node_size()));
  const std::set<std::string> methods{"trace", "project", "usage"};
  const std::vector<std::string> requiredKeys{
      "hierarchy_path", "hierarchy_tags", "hierarchy_count", "hierarchy_method", "hierarchy_module",
      "namespace", "pkg.torch.onnx.name_scopes", "pkg.torch.onnx.class_hierarchy"};
  std::set<std::string> names;
  size_t fullyStamped = 0;
  for (int i = 0; i < graph.node_size(); ++i) {
    const auto& node = graph.node(i);
    SCOPED_TRACE("node " + std::to_string(i) + " " + node.name() + " (" + node.op_type() + ")");
    std::map<std::string, std::string> meta;
    for (const auto& [key, value] : getNodeMetadata(node)) {
      EXPECT_TRUE(meta.emplace(key, value).second) << "duplicate metadata key " << key;
    }
    bool complete = true;
    for (const auto& key : requiredKeys) {
      if (!meta.count(key) || (key != "hierarchy_module" && meta[key].empty())) {
        ADD_FAILURE() << "missing or empty metadata_props key " << key;
        complete = false;
      }
    }
    if (!complete) continue;

    const std::string& path = meta["hierarchy_path"];
    EXPECT_TRUE(moduleByTag.count(path)) << "hierarchy_path " << path << " is no module's tag";
    auto tags = nlohmann::json::parse(meta["hierarchy_tags"], nullptr, false);
    ASSERT_TRUE(tags.is_array()) << "hierarchy_tags is not a JSON array: " << meta["hierarchy_tags"];
    std::set<std::string> tagSet;
    for (const auto& t : tags) {
      ASSERT_TRUE(t.is_string());
      EXPECT_TRUE(moduleByTag.count(t.get<std::string>())) << "tag " << t << " is no module's tag";
      tagSet.insert(t.get<std::string>());
    }
    EXPECT_TRUE(tagSet.count(path)) << "hierarchy_path " << path << " not among " << meta["hierarchy_tags"];
    EXPECT_EQ(meta["hierarchy_count"], std::to_string(tags.size()));
    EXPECT_TRUE(methods.count(meta["hierarchy_method"])) << "hierarchy_method " << meta["hierarchy_method"];
    if (moduleByTag.count(path)) {
      EXPECT_EQ(meta["hierarchy_module"], moduleByTag[path]["path"].get<std::string>());
    }
    EXPECT_EQ(meta["namespace"], path.substr(1)) << "namespace is the tag without its leading '/'";

    // PyTorch 2.x's keys: the chain of modules from the root '' to the primary module.
    std::vector<std::string> scopes, classes;
    EXPECT_TRUE(parsePythonStringList(meta["pkg.torch.onnx.name_scopes"], scopes)) << meta["pkg.torch.onnx.name_scopes"];
    EXPECT_TRUE(parsePythonStringList(meta["pkg.torch.onnx.class_hierarchy"], classes)) << meta["pkg.torch.onnx.class_hierarchy"];
    EXPECT_EQ(scopes.size(), classes.size());
    if (!scopes.empty() && scopes.size() == classes.size()) {
      EXPECT_EQ(scopes.front(), "");
      EXPECT_EQ(scopes.back(), meta["hierarchy_module"]);
      for (size_t k = 0; k < scopes.size(); ++k) {
        ASSERT_TRUE(moduleByPath.count(scopes[k])) << "name scope " << scopes[k] << " is no module";
        EXPECT_EQ(classes[k], moduleByPath[scopes[k]]["qualified_class"].get<std::string>());
        if (k > 0) {
          EXPECT_EQ(scopes[k].rfind(scopes[k - 1], 0), 0u) << scopes[k - 1] << " -> " << scopes[k];
        }
      }
    }

    EXPECT_TRUE(names.insert(node.name()).second) << "node name " << node.name() << " is not unique";
    EXPECT_EQ(node.name().rfind(path + "/", 0), 0u) << "name does not start with " << path << "/";

    // The sidecar says the same.
    const auto& side = sidecar["nodes"][static_cast<size_t>(i)];
    EXPECT_EQ(side["name"], node.name());
    EXPECT_EQ(side["op_type"], node.op_type());
    EXPECT_EQ(side["hierarchy_path"], path);
    EXPECT_EQ(side["hierarchy_tags"], tags);
    EXPECT_EQ(side["hierarchy_method"], meta["hierarchy_method"]);
    EXPECT_EQ(side["hierarchy_module"], meta["hierarchy_module"]);
    ++fullyStamped;
  }
  EXPECT_EQ(fullyStamped, static_cast<size_t>(graph.node_size())) << "not 100% of the nodes are stamped";

  // Node counts in the sidecar follow from the stamps.
  std::map<std::string, size_t> own;
  for (const auto& n : sidecar["nodes"]) own[n["hierarchy_path"].get<std::string>()]++;
  for (const auto& [tag, m] : moduleByTag)
    EXPECT_EQ(m["own_nodes"].get<size_t>(), own.count(tag) ? own[tag] : 0) << tag;
  EXPECT_EQ(moduleByPath[""]["total_nodes"].get<size_t>(), static_cast<size_t>(graph.node_size()));
}

// Share of torch.onnx's nodes (Constant/Identity aside) that find a node of the same op
// type under the same module in ours: tools/hierarchy_agreement.py, at least 95%.
TEST_P(FixtureExportTest, AgreesWithTorchOnnxModuleScopes) {
  const std::string& fixture = GetParam();
  std::string log;
  const std::string reference = cachedTorchOnnxReference(fixture, log);
  ASSERT_FALSE(reference.empty()) << "torch.onnx reference export failed:\n" << log;
  const std::string dir = freshWorkDir("e2e/agreement/" + fixture);
  const std::string report = dir + "/agreement.json";
  auto run = runPython("tools/hierarchy_agreement.py",
                       shellQuote(exported_.onnxPath) + " " + shellQuote(exported_.sidecarPath) + " " +
                           shellQuote(reference) + " --min 0.95 --json " + shellQuote(report));
  ASSERT_TRUE(run.exitCode == 0 || run.exitCode == 1) << run.out << run.err;
  auto result = readJson(report);
  const double share = result["one_to_one"].get<double>();
  std::cout << "[agreement] " << fixture << ": " << result["matched"] << "/" << result["considered"]
            << " = " << 100.0 * share << "% of torch.onnx's nodes match op type and module\n";
  RecordProperty("agreement_percent", std::to_string(100.0 * share));
  EXPECT_GE(share, 0.95) << run.out;
  EXPECT_EQ(run.exitCode, share >= 0.95 ? 0 : 1) << run.out;
  EXPECT_TRUE(result["unresolved_scopes"].empty()) << "torch.onnx scopes with no module in our tree:\n" << run.out;
}

TEST_P(FixtureExportTest, SecondExportIsByteIdentical) {
  const std::string& fixture = GetParam();
  const std::string dir = freshWorkDir("e2e/determinism/" + fixture);
  const std::string onnxPath = dir + "/" + fixture + ".onnx";
  auto run = testing::runModelexport("export " + shellQuote(fixturePath(fixture)) + " " + shellQuote(onnxPath) +
                                     cliArgs(fixture) + " --dump-io " + shellQuote(dir + "/io"));
  ASSERT_EQ(run.exitCode, 0) << run.output;
  const std::string first = readFile(exported_.onnxPath);
  const std::string second = readFile(onnxPath);
  EXPECT_EQ(first.size(), second.size());
  EXPECT_TRUE(first == second) << exported_.onnxPath << " and " << onnxPath << " differ";
  EXPECT_TRUE(readFile(exported_.sidecarPath) == readFile(dir + "/" + fixture + "_hierarchy.json"))
      << "the sidecars differ";
}

INSTANTIATE_TEST_SUITE_P(Fixtures, FixtureExportTest, ::testing::ValuesIn(fixtureNames()),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

}  // namespace
}  // namespace modelexport::e2e
