#pragma once
// profile: time per module from an onnxruntime profile (SessionOptions.enable_profiling).
// Kernel events are named "<node name>_kernel_time" with op_name, provider and dur (µs);
// each is attributed to the module of the model's node of that name, else to the node
// its name derives from ("<node>/MatMulAddFusion", "fused <node>", "<node>_new_reshape",
// "<tensor>_nchwc": the tensor's producer), else to the module scope in its name, else
// listed as unattributed.
#include <map>
#include <optional>
#include <string>
#include <vector>

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

// Times are µs per run (the profile's runs averaged), shares are of the run's kernel time,
// calls are kernel launches per run.
struct ProfiledModule {
  std::string tag, path;
  std::optional<std::string> parent;  // parent's tag; none for the root
  int depth = 0;
  double ownUs = 0, totalUs = 0, ownShare = 0, totalShare = 0, ownCalls = 0, totalCalls = 0;
};

struct ModuleTime {  // an entry of the slowest modules (own time)
  std::string tag;
  double ownUs = 0, ownShare = 0, ownCalls = 0;
};

struct OpTypeTime {
  std::string opType;
  double us = 0, share = 0, calls = 0;
};

struct NodeTime {  // one profiled node
  std::string name, opType, provider;
  double us = 0, calls = 0;
  std::string module;       // tag of its module; empty when unattributed
  std::string attribution;  // kAttributedBy*; empty when unattributed
};

struct ProfileReport {
  std::string file, profile, hierarchySource;
  std::optional<std::string> filter;
  size_t runs = 0, kernelEvents = 0;
  double runUs = 0;       // kernel time per run
  double modelRunUs = 0;  // model_run events per run
  double selectedUs = 0, attributedUs = 0, unattributedUs = 0;  // of the selected nodes
  std::map<std::string, size_t> attribution;  // attributed nodes by kAttributedBy*
  std::vector<ProfiledModule> modules;         // depth first
  std::vector<ModuleTime> topModules;
  std::vector<OpTypeTime> opTypes, topOpTypes;  // slowest first
  std::vector<NodeTime> nodes, unattributed;    // slowest first
};

// The report (docs/CLI.md, "profile"). Throws UserError when filterTag names no module
// of the model.
ProfileReport buildProfileReport(const onnx::ModelProto& model, const ModelHierarchy& hierarchy,
                                 const RuntimeProfile& profile, const ProfileOptions& options);

}  // namespace modelexport
