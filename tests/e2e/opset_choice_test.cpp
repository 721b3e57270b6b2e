// End-to-end: the opset chosen for the user (issue 23 item 8). Without --opset-version a
// model is written at opset 14, or at the lowest opset above that its ops need, said in
// one line on stderr; with it, a model that needs more is refused as before. Models from
// tests/tools/make_opset_choice_models.py (a GridSample warp, a plain CNN, a bfloat16 if
// on data, a 5-d warp) and make_half_precision_models.py (a bfloat16 transformer block).
#include <algorithm>
#include <filesystem>
#include <regex>

#include <gtest/gtest.h>

#include "e2e_support.h"
#include "script_made_models.h"

namespace modelexport::e2e {
namespace {

size_t count(const std::string& text, const std::string& part) {
  size_t n = 0;
  for (size_t at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++n;
  return n;
}

int64_t opsetOf(const onnx::ModelProto& model) {
  for (const auto& import : model.opset_import())
    if (import.domain().empty()) return import.version();
  return 0;
}

class OpsetChoice : public ScriptMadeModels<OpsetChoice> {
 public:
  static MadeModels makeModels() {
    return runKeptModelScripts("opset_choice",
                               {{MODELEXPORT_VENV_PYTHON, "tests/tools/make_opset_choice_models.py"},
                                {MODELEXPORT_VENV_PYTHON, "tests/tools/make_half_precision_models.py", "half"}});
  }

 protected:
  struct Exported {
    CommandResult run;
    std::string onnx, io, out;  // out: the output path without ".onnx"
  };

  // Exports NAME.pt with its --input-spec, --dump-io and `extra` options.
  Exported exportModel(const std::string& name, const std::string& extra) {
    EXPECT_TRUE(ok_) << log_;
    Exported e;
    std::string dirName = name;
    std::replace(dirName.begin(), dirName.end(), '/', '_');
    e.out = freshWorkDir("e2e/opset_choice/" + dirName + (extra.empty() ? "" : "_given")) + "/model";
    e.onnx = e.out + ".onnx";
    e.io = e.out + "_io";
    e.run = exportWithInputSpec(name, e.onnx, "--dump-io " + shellQuote(e.io) + " --with-report " + extra);
    return e;
  }

  // A refused export: exit 1, one error line on stderr, nothing written.
  void expectRefused(const Exported& e, const std::string& message) {
    EXPECT_EQ(e.run.exitCode, 1) << e.run.out << e.run.err;
    EXPECT_EQ(count(e.run.err, "\n"), 1u) << e.run.err;
    EXPECT_EQ(e.run.err.rfind("modelexport: error: ", 0), 0u) << e.run.err;
    EXPECT_NE(e.run.err.find(message), std::string::npos) << e.run.err;
    EXPECT_EQ(count(e.run.err, "note:"), 0u) << e.run.err;
    EXPECT_FALSE(std::filesystem::exists(e.onnx));
    EXPECT_FALSE(std::filesystem::exists(e.out + "_hierarchy.json"));
  }

  // An export that worked: 100% stamped, the checker passes, written at `opset` in the
  // file, the sidecar and the report.
  onnx::ModelProto expectExported(const Exported& e, int opset, bool chosen) {
    EXPECT_EQ(e.run.exitCode, 0) << e.run.out << e.run.err;
    if (e.run.exitCode != 0) return {};
    EXPECT_TRUE(std::regex_search(e.run.out, std::regex(R"((\d+) nodes, \1 stamped \(100%\))"))) << e.run.out;
    auto check = pythonOnnxCheck(e.onnx);
    EXPECT_EQ(check.exitCode, 0) << check.output;
    onnx::ModelProto model = loadModel(e.onnx);
    EXPECT_EQ(opsetOf(model), opset);
    EXPECT_EQ(readJson(e.out + "_hierarchy.json").at("statistics").at("opset"), opset);
    const nlohmann::json report = readJson(e.out + "_export_report.json");
    EXPECT_EQ(report.at("options").at("opset"), opset);
    EXPECT_EQ(report.at("options").at("opset_chosen"), chosen);
    return model;
  }
};

TEST_F(OpsetChoice, GridSampleWithoutOpsetIsWrittenAtOpset16WithANote) {
  const Exported e = exportModel("grid_warp", "");
  const onnx::ModelProto model = expectExported(e, 16, true);
  EXPECT_EQ(e.run.err,
            "modelexport: note: ONNX opset 16 chosen (aten::grid_sampler in /GridWarp/Warp needs GridSample); "
            "pass --opset-version to choose another\n");
  bool gridSample = false;
  for (const auto& node : model.graph().node()) gridSample = gridSample || node.op_type() == "GridSample";
  EXPECT_TRUE(gridSample);
  auto ort = ortCheck(e.onnx, e.io, 1e-5);
  EXPECT_EQ(ort.exitCode, 0) << ort.output;
  std::cout << "grid_warp (opset chosen): " << ort.output;
}

TEST_F(OpsetChoice, GridSampleAtAGivenOpsetIsRefusedOrWritten) {
  expectRefused(exportModel("grid_warp", "--opset-version 14"),
                "unsupported operators: aten::grid_sampler x1 (first in /GridWarp/Warp at ");
  expectRefused(exportModel("grid_warp", "--opset-version 14"),
                "needs ONNX opset 16 (GridSample), not in opset 14; export with --opset-version 16 or later)");
  const Exported at17 = exportModel("grid_warp", "--opset-version 17");
  expectExported(at17, 17, false);
  EXPECT_EQ(at17.run.err, "");
}

TEST_F(OpsetChoice, PlainModelStaysAtOpset14WithoutANote) {
  const Exported e = exportModel("plain", "");
  expectExported(e, 14, true);
  EXPECT_EQ(e.run.err, "");
  auto ort = ortCheck(e.onnx, e.io, 1e-5);
  EXPECT_EQ(ort.exitCode, 0) << ort.output;
}

// 5-d GridSample is opset 20's: refused with or without --opset-version, saying so.
TEST_F(OpsetChoice, NeedBeyondOpset17IsRefused) {
  const std::string message =
      "needs ONNX opset 20 (GridSample of a 5-d input); this exporter writes opsets up to 17)";
  expectRefused(exportModel("grid_warp_3d", ""), message);
  expectRefused(exportModel("grid_warp_3d", "--opset-version 17"), message);
}

// bfloat16: the checker's need (If has bfloat16 outputs from opset 16) chooses the opset as
// a converter's does; a bfloat16 block whose ops opset 14 has (Casts around the rest) stays.
TEST_F(OpsetChoice, Bfloat16ModelsGetTheOpsetTheirOpsNeed) {
  const Exported gate = exportModel("gate_bf16", "");
  expectExported(gate, 16, true);
  EXPECT_EQ(gate.run.err,
            "modelexport: note: ONNX opset 16 chosen (node /Gate/If needs ONNX's bfloat16 If); pass --opset-version "
            "to choose another\n");
  expectRefused(exportModel("gate_bf16", "--opset-version 14"),
                "ONNX checker: ONNX's If has no bfloat16 form at opset 14 (node /Gate/If); it has from opset 16: "
                "export with --opset-version 16 or later");
  for (const char* name : {"half/block_bf16", "half/cnn_bf16"}) {
    const Exported block = exportModel(name, "");
    expectExported(block, 14, true);
    EXPECT_EQ(block.run.err, "") << name;
  }
}

}  // namespace
}  // namespace modelexport::e2e
