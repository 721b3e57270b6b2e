// The opset chosen for the user (issue 23 item 8): without --opset-version an export that
// needs a newer opset is converted again at the lowest one that has what it needs, and
// says so in one line; with it, the refusal names the opset to use.
#include <filesystem>
#include <map>
#include <sstream>
#include <vector>

#include <gtest/gtest.h>
#include <torch/script.h>

#include "modelexport/convert_context.h"
#include "modelexport/errors.h"
#include "modelexport/exporter.h"
#include "modelexport/model_writer.h"
#include "modelexport/opset_choice.h"
#include "test_support.h"

namespace modelexport::testing {
namespace {

// An attempt that needs `needs` (opset -> the opset that attempt asks for) and records
// the opsets it ran at.
std::function<void(int)> attemptNeeding(std::vector<int>& tried, std::map<int, int> needs) {
  return [&tried, needs](int opset) {
    tried.push_back(opset);
    if (auto it = needs.find(opset); it != needs.end())
      throw NewerOpsetNeeded("refused at " + std::to_string(opset), it->second, "op X needs feature " + std::to_string(it->second));
  };
}

TEST(OpsetChoice, DefaultWhenItSuffices) {
  std::vector<int> tried;
  const OpsetChoice choice = runAtChosenOpset(std::nullopt, attemptNeeding(tried, {}));
  EXPECT_EQ(choice.opset, kDefaultOpset);
  EXPECT_EQ(tried, std::vector<int>{kDefaultOpset});
  EXPECT_EQ(opsetChoiceNote(choice), "");
}

TEST(OpsetChoice, RaisedToWhatTheModelNeeds) {
  std::vector<int> tried;
  const OpsetChoice choice = runAtChosenOpset(std::nullopt, attemptNeeding(tried, {{14, 16}}));
  EXPECT_EQ(choice.opset, 16);
  EXPECT_EQ(tried, (std::vector<int>{14, 16}));
  EXPECT_EQ(opsetChoiceNote(choice),
            "modelexport: note: ONNX opset 16 chosen (op X needs feature 16); pass --opset-version to choose another");
}

// A need found only at the raised opset (the checker after the converters) raises it again.
TEST(OpsetChoice, RaisedAgainForANeedFoundLater) {
  std::vector<int> tried;
  const OpsetChoice choice = runAtChosenOpset(std::nullopt, attemptNeeding(tried, {{14, 15}, {15, 16}}));
  EXPECT_EQ(choice.opset, 16);
  EXPECT_EQ(tried, (std::vector<int>{14, 15, 16}));
  EXPECT_NE(choice.reason.find("feature 16"), std::string::npos);
}

TEST(OpsetChoice, GivenOpsetIsRefusedNotChanged) {
  std::vector<int> tried;
  try {
    runAtChosenOpset(14, attemptNeeding(tried, {{14, 16}}));
    FAIL() << "no refusal";
  } catch (const NewerOpsetNeeded& e) {
    EXPECT_EQ(std::string(e.what()), "refused at 14");
  }
  EXPECT_EQ(tried, std::vector<int>{14});
  tried.clear();
  EXPECT_EQ(runAtChosenOpset(17, attemptNeeding(tried, {{14, 16}})).opset, 17);
  EXPECT_EQ(opsetChoiceNote(runAtChosenOpset(17, attemptNeeding(tried, {}))), "");
}

// No loop on a need that is not higher, nor one past the opsets written; other errors pass.
TEST(OpsetChoice, RefusalsThatANewerOpsetCannotHelp) {
  std::vector<int> tried;
  EXPECT_THROW(runAtChosenOpset(std::nullopt, attemptNeeding(tried, {{14, 14}})), NewerOpsetNeeded);
  EXPECT_EQ(tried, std::vector<int>{14});
  tried.clear();
  EXPECT_THROW(runAtChosenOpset(std::nullopt, attemptNeeding(tried, {{14, kMaxOpset + 1}})), NewerOpsetNeeded);
  EXPECT_EQ(tried, std::vector<int>{14});
  EXPECT_THROW(runAtChosenOpset(std::nullopt, [](int) { throw UserError("other"); }), UserError);
}

// A TorchScript model from `source`, saved in a fresh directory; returns its path.
std::string savedModel(const std::string& name, const std::string& source) {
  const std::string dir = freshWorkDir("opset_choice/" + name);
  torch::jit::Module module("OpModel");
  module.define(source);
  module.save(dir + "/model.pt");
  return dir + "/model.pt";
}

ExportOptions optionsFor(const std::string& modelPath, std::vector<InputSpec> inputs) {
  ExportOptions options;
  options.modelPath = modelPath;
  options.outputPath = modelPath.substr(0, modelPath.size() - 3) + ".onnx";
  options.inputSpecs = std::move(inputs);
  options.dumpIoDir = modelPath.substr(0, modelPath.rfind('/')) + "/io";
  return options;
}

int64_t opsetOf(const std::string& onnxPath) {
  const onnx::ModelProto model = readModel(onnxPath);
  for (const auto& import : model.opset_import())
    if (import.domain().empty()) return import.version();
  return 0;
}

size_t count(const std::string& text, const std::string& part) {
  size_t n = 0;
  for (size_t at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++n;
  return n;
}

const char* const kGridSampler = "def forward(self, x, g):\n  return torch.grid_sampler(x, torch.tanh(g), 0, 0, False)\n";

TEST(OpsetChoice, GridSamplerWithoutOpsetIsWrittenAtOpset16) {
  const ExportOptions options = optionsFor(savedModel("grid_auto", kGridSampler), {floatInput({1, 3, 6, 7}), floatInput({1, 4, 5, 2})});
  std::ostringstream log;
  const ExportSummary summary = exportModel(options, log);
  EXPECT_EQ(summary.opset, 16);
  EXPECT_EQ(opsetOf(options.outputPath), 16);
  EXPECT_EQ(count(log.str(), "modelexport: note: "), 1u) << log.str();
  EXPECT_NE(log.str().find("ONNX opset 16 chosen (aten::grid_sampler in "), std::string::npos) << log.str();
  EXPECT_NE(log.str().find("needs GridSample); pass --opset-version"), std::string::npos) << log.str();
  checkModelFull(readModel(options.outputPath));
  const ProcessResult ort = ortCheck(options.outputPath, options.dumpIoDir, 1e-5);
  EXPECT_EQ(ort.exitCode, 0) << ort.output;
}

TEST(OpsetChoice, GridSamplerAtAGivenOpsetIsRefused) {
  ExportOptions options = optionsFor(savedModel("grid_given", kGridSampler), {floatInput({1, 3, 6, 7}), floatInput({1, 4, 5, 2})});
  options.opset = 14;
  std::ostringstream log;
  try {
    exportModel(options, log);
    FAIL() << "exported at opset 14";
  } catch (const NewerOpsetNeeded& e) {
    EXPECT_EQ(e.opset(), 16);
    const std::string what = e.what();
    EXPECT_NE(what.find("aten::grid_sampler x1"), std::string::npos) << what;
    EXPECT_NE(what.find("needs ONNX opset 16 (GridSample), not in opset 14; export with --opset-version 16 or later"),
              std::string::npos)
        << what;
  }
  EXPECT_EQ(log.str(), "");
  EXPECT_FALSE(std::filesystem::exists(options.outputPath));
}

TEST(OpsetChoice, PlainModelStaysAtTheDefaultWithoutANote) {
  const ExportOptions options =
      optionsFor(savedModel("plain", "def forward(self, x):\n  return torch.relu(x) * 2.0\n"), {floatInput({2, 3})});
  std::ostringstream log;
  EXPECT_EQ(exportModel(options, log).opset, kDefaultOpset);
  EXPECT_EQ(opsetOf(options.outputPath), kDefaultOpset);
  EXPECT_EQ(log.str(), "");
}

// 5-d grid sampling is GridSample from opset 20: a refusal, not a retry.
TEST(OpsetChoice, NeedBeyondTheHighestOpsetIsRefused) {
  const ExportOptions options =
      optionsFor(savedModel("grid_5d", kGridSampler), {floatInput({1, 2, 3, 4, 5}), floatInput({1, 2, 3, 4, 3})});
  std::ostringstream log;
  try {
    exportModel(options, log);
    FAIL() << "5-d grid_sampler exported";
  } catch (const NewerOpsetNeeded& e) {
    FAIL() << "retriable: " << e.what();
  } catch (const UserError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("needs ONNX opset 20 (GridSample of a 5-d input); this exporter writes opsets up to 17"),
              std::string::npos)
        << what;
  }
  EXPECT_EQ(log.str(), "");
}

// Another cause beside the opset need: a newer opset would not take the model, so the
// error is the list of causes at the default opset, not a retry.
TEST(OpsetChoice, OtherCausesAreNotRetried) {
  const ExportOptions options = optionsFor(
      savedModel("grid_and_det", "def forward(self, x, g):\n"
                                 "  return torch.grid_sampler(x, g, 0, 0, False), torch.det(x[0, 0, :4, :4])\n"),
      {floatInput({1, 3, 6, 7}), floatInput({1, 4, 5, 2})});
  std::ostringstream log;
  try {
    exportModel(options, log);
    FAIL() << "exported";
  } catch (const NewerOpsetNeeded& e) {
    FAIL() << "retriable: " << e.what();
  } catch (const UserError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("aten::grid_sampler"), std::string::npos) << what;
    EXPECT_NE(what.find("opset 16"), std::string::npos) << what;
    EXPECT_NE(what.find("det x1"), std::string::npos) << what;
  }
  EXPECT_EQ(log.str(), "");
}

}  // namespace
}  // namespace modelexport::testing
