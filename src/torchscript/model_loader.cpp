#include "modelexport/model_loader.h"

#include <algorithm>
#include <filesystem>
#include <memory>
#include <system_error>
#include <fstream>
#include <regex>
#include <vector>

#include <ATen/Context.h>
#include <torch/version.h>

#include "modelexport/errors.h"
#include "modelexport/libtorch_errors.h"
#include "modelexport/mapped_archive.h"
#include "modelexport/model_file_format.h"
#include "modelexport/torchvision_ops.h"

namespace modelexport {
namespace {

const char* kHowToMake =
    "make TorchScript with torch.jit.trace(model, example_inputs).save(path) or "
    "torch.jit.script(model).save(path)";

std::string quantizedEngineNames() {
  std::string names;
  for (at::QEngine engine : at::globalContext().supportedQEngines())
    if (engine != at::kNoQEngine) names += (names.empty() ? "" : ", ") + c10::toString(engine);
  return names.empty() ? "no engine built in" : "engines: " + names;
}

// Quantized models (torch.ao) prepack their weights for the current quantized engine
// while they load, and run with it: the one Python picks, x86 (fbgemm with oneDNN
// dispatch), else fbgemm, else qnnpack, so the run rounds as the model's author saw.
void selectQuantizedEngine() {
  const auto& supported = at::globalContext().supportedQEngines();
  for (at::QEngine engine : {at::kX86, at::kFBGEMM, at::kQNNPACK})
    if (std::find(supported.begin(), supported.end(), engine) != supported.end()) {
      if (at::globalContext().qEngine() != engine) at::globalContext().setQEngine(engine);
      return;
    }
}

// What LibTorch's load error says, in one line: an operator or class it does not know
// (a newer torch's, or a library's such as torchvision), else its first line.
std::string loadCause(const std::string& text) {
  std::smatch m;
  if (std::regex_search(text, m, std::regex(R"(Unknown builtin op: ([A-Za-z_][A-Za-z0-9_]*)::([A-Za-z0-9_.]*[A-Za-z0-9_]))"))) {
    const std::string ns = m[1], op = m[1].str() + "::" + m[2].str();
    if (ns == "aten" || ns == "prim")
      return "unknown operator " + op + " (the file needs a newer LibTorch than " + TORCH_VERSION + ")";
    return "uses " + op + ", an operator of the " + ns + " library, which this binary does not register" +
           (ns == "torchvision" ? " (it registers torchvision's nms, roi_align, roi_pool, ps_roi_align, ps_roi_pool "
                                  "and deform_conv2d)"
                                : "");
  }
  // Packed quantized weights are prepacked for the quantized engine while they load.
  if (std::regex_search(text, m, std::regex(R"(Didn't find engine for operation (quantized::[A-Za-z0-9_]+))")))
    return "its quantized weights need a quantized engine for " + m[1].str() + ", and this LibTorch has none (" +
           quantizedEngineNames() + ")";
  if (std::regex_search(text, m, std::regex(R"(Unknown type name '([^']+)')")))
    return "uses the class " + m[1].str() + ", which this binary does not know";
  // Code the file runs while it loads (a module's __setstate__, which restores packed
  // quantized weights by calling their prepack op) failed: the op and its own message.
  if (auto failure = interpreterFailure(text)) {
    const bool restoring = std::find(failure->functions.begin(), failure->functions.end(), "__setstate__") !=
                           failure->functions.end();
    std::string where = restoring ? " while restoring a module's state (__setstate__)" : " while loading";
    if (!failure->op.empty()) return failure->op + " failed" + where + ": " + failure->message;
    return "the file's code failed" + where + ": " + failure->message;
  }
  return firstLine(text);
}

}  // namespace

std::string diagnoseNonTorchScript(const std::string& path) {
  switch (nonModelFileKind(path)) {
    case NonModelFileKind::kEmpty: return "the file is empty";
    case NonModelFileKind::kTorchSaveCheckpoint:
      return "it is a torch.save checkpoint (pickled state_dict or tensors), not TorchScript; " + std::string(kHowToMake);
    case NonModelFileKind::kTruncatedZip: return "the zip archive is truncated or corrupt (no end-of-archive record)";
    case NonModelFileKind::kZipWithoutCode:
      return "the zip archive is not a TorchScript model (no code/ folder); " + std::string(kHowToMake);
    case NonModelFileKind::kTorchScriptLike: return "";
    case NonModelFileKind::kPickle:
      return "it is a Python pickle (legacy torch.save format), not TorchScript; " + std::string(kHowToMake);
    case NonModelFileKind::kProtobuf: return "it looks like an ONNX or protobuf file, not TorchScript";
    case NonModelFileKind::kNotZip: return "it is not a TorchScript archive (not a zip file); " + std::string(kHowToMake);
  }
  return "";
}

torch::jit::Module loadTorchScript(const std::string& path, ArchiveLoadStats* stats) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec))
    throw UserError(path + ": no such file");
  if (std::filesystem::is_directory(path, ec))
    throw UserError(path + ": is a directory, expected a TorchScript .pt file");
  {
    std::ifstream probe(path, std::ios::binary);
    if (!probe) throw UserError(path + ": cannot be read (permission denied?)");
  }
  if (!startsAsZip(path))
    throw UserError(path + ": cannot load: " + diagnoseNonTorchScript(path));
  ensureTorchvisionOperators();  // detection models call torchvision's operators
  selectQuantizedEngine();
  try {
    std::unique_ptr<MappedArchive> archive;
    try {
      archive = std::make_unique<MappedArchive>(path);
    } catch (const std::system_error&) {
      // Not mappable (a pipe, say): LibTorch reads it with copies.
    }
    torch::jit::Module module = archive ? archive->load() : torch::jit::load(path, torch::kCPU);
    if (stats && archive) *stats = archive->stats();
    module.eval();
    return module;
  } catch (const c10::Error& e) {
    std::string what = diagnoseNonTorchScript(path);
    if (what.empty()) what = "LibTorch: " + loadCause(e.what_without_backtrace());
    throw UserError(path + ": cannot load: " + what, e.what());
  } catch (const std::exception& e) {
    // TorchScript's compile errors (unknown operators) are ErrorReports, not c10::Errors.
    throw UserError(path + ": cannot load: " + loadCause(e.what()), e.what());
  }
}

}  // namespace modelexport
