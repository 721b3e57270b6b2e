// End-to-end: plain torch.export programs holding higher-order regions (issue 23 item 3;
// tests/tools/make_region_programs.py, torch 2.13): torch.no_grad/set_grad_enabled and
// torch.autocast regions, ModernBERT and Falcon (their rotary embeddings: a no_grad region
// around a disabled autocast region). Each exports with every node stamped, passes the
// checker, LibTorch's run of the inlined graph equals PyTorch's own run of the program
// (ExportedProgram.module(), the autocast regions cast by autocast) and onnxruntime
// matches LibTorch (but bfloat16, which onnxruntime's CPU provider has no MatMul for).
#include <cmath>
#include <fstream>
#include <regex>

#include <gtest/gtest.h>

#include "e2e_support.h"
#include "script_made_models.h"

namespace modelexport::e2e {
namespace {

class RegionPrograms : public ScriptMadeModels<RegionPrograms> {
 public:
  static MadeModels makeModels() {
    // Kept between runs: the script remakes them when it or torch/transformers changed.
    return runModelScripts(buildTreeModelDir("region_programs"),
                           {{MODELEXPORT_VENV_PYTHON, "tests/tools/make_region_programs.py"}}, "programs.json");
  }

 protected:
  void SetUp() override { ASSERT_TRUE(ok_) << log_; }

  static std::vector<float> floats(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::vector<float> values(bytes.size() / sizeof(float));
    std::memcpy(values.data(), bytes.data(), values.size() * sizeof(float));
    return values;
  }

  // Exports NAME.pt2 with its embedded inputs; checks stamps, the checker, the regions'
  // presence in the program, LibTorch's first output against PyTorch's, and onnxruntime.
  // Returns the sidecar's (hierarchy_path, op_type) of every node, for placement checks.
  std::vector<std::pair<std::string, std::string>> expectExportsAndMatches(const std::string& name,
                                                                           double ortTolerance) {
    SCOPED_TRACE(name);
    const auto regions = manifest_.at(name).at("regions").get<std::vector<std::string>>();
    EXPECT_FALSE(regions.empty()) << "the program holds no higher-order region";
    const std::string out = freshWorkDir("e2e/region_programs/" + name);
    auto run = runModelexportSplit("export " + shellQuote(dir_ + "/" + name + ".pt2") + " " +
                                   shellQuote(out + "/model.onnx") + " --dump-io " + shellQuote(out + "/io"));
    EXPECT_EQ(run.exitCode, 0) << run.out << run.err;
    if (run.exitCode != 0) return {};
    std::smatch counts;
    EXPECT_TRUE(std::regex_search(run.out, counts, std::regex(R"((\d+) nodes, \1 stamped \(100%\))"))) << run.out;
    std::cout << name << ": " << counts[0] << "; regions";
    for (const auto& r : regions) std::cout << " " << r;
    std::cout << "\n";
    auto checked = pythonOnnxCheck(out + "/model.onnx");
    EXPECT_EQ(checked.exitCode, 0) << checked.output;

    const nlohmann::json io = readJson(out + "/io/io.json");
    const auto& first = io.at("outputs").at(0);
    EXPECT_EQ(first.at("dtype"), "float32");
    EXPECT_EQ(first.at("shape"), manifest_.at(name).at("output_shape"));
    const auto got = floats(out + "/io/" + first.at("file").get<std::string>());
    const auto want = floats(dir_ + "/" + name + ".expected.bin");
    EXPECT_EQ(got.size(), want.size());
    if (got.size() != want.size()) return {};
    double worst = 0;
    for (size_t i = 0; i < got.size(); ++i)
      worst = std::max(worst, std::abs(double(got[i]) - want[i]) / (1 + std::abs(double(want[i]))));
    std::cout << name << ": LibTorch's run against PyTorch's: " << worst << "\n";
    EXPECT_LE(worst, 1e-5);

    if (ortTolerance > 0) {
      auto ort = ortCheck(out + "/model.onnx", out + "/io", ortTolerance);
      EXPECT_EQ(ort.exitCode, 0) << ort.output;
      std::cout << name << ": " << ort.output;
    }
    std::vector<std::pair<std::string, std::string>> placed;
    const auto sidecar = readJson(out + "/model_hierarchy.json");
    for (const auto& node : sidecar.at("nodes"))
      placed.emplace_back(node.value("hierarchy_path", ""), node.value("op_type", ""));
    return placed;
  }

  // How many nodes of `op` sit in a module whose path ends in `module`.
  static int countIn(const std::vector<std::pair<std::string, std::string>>& placed, const std::string& module,
                     const std::string& op) {
    int n = 0;
    for (const auto& [path, type] : placed)
      n += type == op && path.size() >= module.size() && path.compare(path.size() - module.size(), module.size(), module) == 0;
    return n;
  }
};

// The regions' ops under the modules that called them.
TEST_F(RegionPrograms, GradAndDisabledAutocastRegions) {
  const auto placed = expectExportsAndMatches("regions", 1e-4);
  EXPECT_EQ(countIn(placed, "/Regions/Linear.a", "MatMul"), 1);
  EXPECT_EQ(countIn(placed, "/Regions/Linear.b", "MatMul"), 1);
  EXPECT_EQ(countIn(placed, "/Regions/Linear.c", "MatMul"), 1);
}

// The casts of an enabled region decide the numbers: without them LibTorch's run would
// differ from PyTorch's by 5.3e-3 (bfloat16's rounding of the matmuls).
TEST_F(RegionPrograms, EnabledBfloat16Autocast) {
  const auto placed = expectExportsAndMatches("autocast_bf16", 0);
  EXPECT_EQ(countIn(placed, "/AutocastBlock/Linear.proj", "Cast"), 3);  // input, weight, bias to bfloat16
  EXPECT_EQ(countIn(placed, "/AutocastBlock/Linear.kept", "Cast"), 0);  // the disabled region inside
}

TEST_F(RegionPrograms, EnabledFloat16Autocast) { expectExportsAndMatches("autocast_fp16", 5e-3); }

// The rotary embeddings' regions (no_grad around autocast(enabled=False)) stay theirs.
TEST_F(RegionPrograms, ModernBertRawExport) {
  const auto placed = expectExportsAndMatches("modernbert", 1e-4);
  EXPECT_EQ(countIn(placed, "/ModernBertAttention/ModernBertRotaryEmbedding", "Cos"), 2);  // one per layer
  EXPECT_EQ(countIn(placed, "/ModernBertAttention/ModernBertRotaryEmbedding", "MatMul"), 2);
}

TEST_F(RegionPrograms, FalconRawExport) {
  const auto placed = expectExportsAndMatches("falcon", 1e-4);
  EXPECT_EQ(countIn(placed, "/FalconModel/FalconRotaryEmbedding", "Sin"), 1);
  EXPECT_EQ(countIn(placed, "/FalconModel/FalconRotaryEmbedding", "MatMul"), 1);
}

TEST_F(RegionPrograms, CastsInsideAnOpAreRefusedInOneLine) {
  const std::string out = freshWorkDir("e2e/region_programs/autocast_pad");
  auto run = runModelexportSplit("export " + shellQuote(dir_ + "/autocast_pad.pt2") + " " +
                                 shellQuote(out + "/model.onnx"));
  EXPECT_EQ(run.exitCode, 1);
  EXPECT_NE(run.err.find("autocast_pad.pt2: node 'pad' (torch.ops.aten.pad.default, at "), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("in the autocast region 'submod_1'"), std::string::npos) << run.err;
  EXPECT_EQ(std::count(run.err.begin(), run.err.end(), '\n'), 1) << run.err;
  EXPECT_TRUE(listDirectory(out).empty());
}

}  // namespace
}  // namespace modelexport::e2e
