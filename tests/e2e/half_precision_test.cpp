// End-to-end: float16 and bfloat16 models (weights and activations; issue 23 item 9), a
// transformer block, attention written out and a small CNN, traced and torch.export-ed
// with torch 2.13 (tests/tools/make_half_precision_models.py). float16: exported, checked,
// every node stamped, values kept in float16, and onnxruntime against LibTorch's run
// within 5e-3 (ort_check's |a-b|/(1+|b|); float16's epsilon is 9.8e-4 and onnxruntime and
// LibTorch accumulate differently). bfloat16: onnxruntime's CPU provider has no bfloat16
// kernels for most of these ops, so what is checked is the checker, the output shapes,
// the graph's bfloat16 inputs and outputs and the Casts around ops ONNX has no bfloat16
// form of at the opset; below opset 13 (no bfloat16 Cast) the error says opset 13.
#include <gtest/gtest.h>

#include "e2e_support.h"
#include "in_process_export.h"
#include "modelexport/node_metadata.h"
#include "script_made_models.h"

namespace modelexport::e2e {
namespace {

class HalfPrecision : public ScriptMadeModels<HalfPrecision> {
 public:
  static MadeModels makeModels() {
    return runKeptModelScripts("half_precision",
                               {{MODELEXPORT_VENV_PYTHON, "tests/tools/make_half_precision_models.py"}});
  }

 protected:
  // `modelexport export` of NAME.EXT (.pt with --input-spec, .pt2 with its recorded inputs)
  // at `opset`: the refusals' exit code and stderr are the command line's.
  CommandResult exportModel(const std::string& name, const std::string& ext, int opset, const std::string& out) {
    std::string args = "export " + shellQuote(dir_ + "/" + name + "." + ext) + " " + shellQuote(out + ".onnx") +
                       " --opset-version " + std::to_string(opset) + " --dump-io " + shellQuote(out + "_io");
    if (ext == "pt") args += " --input-spec " + manifest_.at(name).at("input_spec").get<std::string>();
    return runModelexportSplit(args);
  }

  // The same export in the test process (in_process_export.h): what is checked of the
  // exports that work is the files they write, for 36 of them.
  InProcessExport exportInTestProcess(const std::string& name, const std::string& ext, int opset,
                                      const std::string& out) {
    ExportArguments arguments;
    arguments.modelPath = dir_ + "/" + name + "." + ext;
    arguments.outputPath = out + ".onnx";
    arguments.opset = opset;
    arguments.dumpIoDir = out + "_io";
    if (ext == "pt") arguments.inputSpec = manifest_.at(name).at("input_spec").get<std::string>();
    return exportInProcess(arguments);
  }

  // Exports, checks, counts stamps; returns the model (empty graph on failure).
  onnx::ModelProto expectExported(const std::string& name, const std::string& ext, int opset, onnx::TensorProto::DataType elem) {
    EXPECT_TRUE(ok_) << log_;
    if (!ok_) return {};
    const std::string out = freshWorkDir("e2e/half_precision/" + name + "_" + ext + "_" + std::to_string(opset)) + "/model";
    const InProcessExport run = exportInTestProcess(name, ext, opset, out);
    EXPECT_TRUE(run.ok) << name << "." << ext << " opset " << opset << ": " << run.error << "\n" << run.log;
    if (!run.ok) return {};
    // What the command prints as "N nodes, N stamped (100%)".
    EXPECT_EQ(run.summary.stampedNodes, run.summary.onnxNodes) << name << "." << ext << " opset " << opset;
    auto check = pythonOnnxCheck(out + ".onnx");
    EXPECT_EQ(check.exitCode, 0) << check.output;
    onnx::ModelProto model = loadModel(out + ".onnx");
    for (const auto& v : model.graph().input()) EXPECT_EQ(v.type().tensor_type().elem_type(), elem) << name << " input";
    for (const auto& v : model.graph().output()) EXPECT_EQ(v.type().tensor_type().elem_type(), elem) << name << " output";
    // The computation stays in the model's dtype: no float32 weight, no value cast to float32
    // (Resize's roi and scales are float32 by ONNX's definition).
    for (const auto& init : model.graph().initializer())
      if (init.data_type() == onnx::TensorProto::FLOAT) {
        EXPECT_TRUE(init.name() == "scales" || init.name() == "empty") << name << "." << ext << ": " << init.name();
      }
    for (const auto& node : model.graph().node())
      for (const auto& a : node.attribute())
        if (elem == onnx::TensorProto::FLOAT16 && node.op_type() == "Cast" && a.name() == "to") {
          EXPECT_NE(a.i(), onnx::TensorProto::FLOAT) << node.name();
        }
    const nlohmann::json io = readJson(out + "_io/io.json");
    EXPECT_EQ(io.at("outputs").size(), static_cast<size_t>(model.graph().output_size()));
    for (int i = 0; i < model.graph().output_size(); ++i) {
      const auto& shape = model.graph().output(i).type().tensor_type().shape();
      std::vector<int64_t> dims;
      for (const auto& d : shape.dim()) dims.push_back(d.dim_value());
      EXPECT_EQ(dims, io.at("outputs")[static_cast<size_t>(i)].at("shape").get<std::vector<int64_t>>()) << name;
    }
    lastIo_ = out + "_io";
    lastOnnx_ = out + ".onnx";
    return model;
  }

  std::string lastIo_, lastOnnx_;
};

TEST_F(HalfPrecision, Float16ModelsMatchLibTorchInOnnxruntime) {
  for (const char* name : {"block_fp16", "hand_fp16", "cnn_fp16"})
    for (const char* ext : {"pt", "pt2"})
      for (int opset : {11, 14, 17}) {
        const onnx::ModelProto model = expectExported(name, ext, opset, onnx::TensorProto::FLOAT16);
        if (model.graph().node_size() == 0) continue;
        auto r = ortCheck(lastOnnx_, lastIo_, 5e-3);
        EXPECT_EQ(r.exitCode, 0) << name << "." << ext << " opset " << opset << ": " << r.output;
        std::cout << name << "." << ext << " opset " << opset << ": " << r.output;
      }
}

// bfloat16 from opset 13 (Cast's, Add's, MatMul's first bfloat16 forms): an op with no
// bfloat16 form at the opset (Conv, MaxPool, GlobalAveragePool up to 17; Pow's exponent
// before 15, Where before 16) computes in float between Casts, stamped with its module.
TEST_F(HalfPrecision, Bfloat16ModelsExportFromOpset13) {
  for (const char* name : {"block_bf16", "hand_bf16", "cnn_bf16"})
    for (const char* ext : {"pt", "pt2"})
      for (int opset : {13, 14, 17}) {
        const onnx::ModelProto model = expectExported(name, ext, opset, onnx::TensorProto::BFLOAT16);
        int toFloat = 0, toBfloat16 = 0;
        for (const auto& node : model.graph().node())
          for (const auto& a : node.attribute())
            if (node.op_type() == "Cast" && a.name() == "to") {
              toFloat += a.i() == onnx::TensorProto::FLOAT;
              toBfloat16 += a.i() == onnx::TensorProto::BFLOAT16;
            }
        // Two Convs, a MaxPool, a GlobalAveragePool (and at opset 13 BatchNormalization,
        // whose bfloat16 form came in 14), each with a Cast back.
        if (std::string(name) == "cnn_bf16") {
          EXPECT_EQ(toBfloat16, opset == 13 ? 5 : 4) << name << "." << ext << " opset " << opset;
          EXPECT_GE(toFloat, toBfloat16) << name << "." << ext << " opset " << opset;
        }
        if (opset == 17 && std::string(name) != "cnn_bf16") {
          EXPECT_EQ(toFloat, 0) << name << "." << ext;
        }
      }
}

TEST_F(HalfPrecision, Bfloat16BelowOpset13SaysWhichOpsetItNeeds) {
  ASSERT_TRUE(ok_) << log_;
  const std::string out = freshWorkDir("e2e/half_precision/bf16_low") + "/model";
  for (const char* name : {"block_bf16", "cnn_bf16"}) {
    auto run = exportModel(name, "pt2", 11, out);
    EXPECT_EQ(run.exitCode, 1) << run.out << run.err;
    EXPECT_NE(run.err.find("has no bfloat16 form at opset 11"), std::string::npos) << run.err;
    EXPECT_NE(run.err.find("it has from opset 13: export with --opset-version 13 or later"), std::string::npos)
        << run.err;
  }
}

}  // namespace
}  // namespace modelexport::e2e
