#pragma once
// profile: time per module from an onnxruntime profile (SessionOptions.enable_profiling).
// Kernel events are named "<node name>_kernel_time" with op_name, provider and dur (µs);
// each is attributed to the module of the model's node of that name, else to the node
// its name derives from ("<node>/MatMulAddFusion", "fused <node>", "<node>_new_reshape",
// "<tensor>_nchwc": the tensor's producer), else to the module scope in its name, else
// listed as unattributed.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <onnx/onnx_pb.h>

#include "modelexport/hierarchy_reader.h"

namespace modelexport {

struct KernelEvent {
  std::string node;      // node name as the profile gives it (without "_kernel_time")
  std::string opType;    // args.op_name
  std::string provider;  // args.provider
  double durationUs = 0;
};

struct RuntimeProfile {
  std::vector<KernelEvent> kernels;
  size_t runs = 0;           // model_run events (at least 1 when there are kernels)
  double modelRunUs = 0;     // sum of the model_run events' durations
};

// Reads the JSON trace onnxruntime writes (an array of events, or {"traceEvents": [...]}).
// Throws UserError naming the file when it is not such a trace or holds no kernel event.
RuntimeProfile readRuntimeProfile(const std::string& path);

// How a profiled node found its module.
inline constexpr const char* kAttributedByName = "name";        // a model node of that name
inline constexpr const char* kAttributedByDerivation = "derived";  // a node its name extends
inline constexpr const char* kAttributedByScope = "scope";      // a module scope in its name

struct ProfileOptions {
  std::string filterTag;  // only this module and its descendants ("" = all)
  size_t top = 10;        // entries of the top-modules and top-op-types lists
  std::string modelLabel, profileLabel;
};

// The report (docs/CLI.md, "profile"): times are µs per run (the profile's runs averaged).
// Throws UserError when filterTag names no module of the model.
nlohmann::json buildProfileReport(const onnx::ModelProto& model, const ModelHierarchy& hierarchy,
                                  const RuntimeProfile& profile, const ProfileOptions& options);

std::string renderProfileText(const nlohmann::json& report);
std::string renderProfileCsv(const nlohmann::json& report);  // one row per module

}  // namespace modelexport
