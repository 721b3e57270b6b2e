#include "modelexport/exporter.h"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <set>
#include <sstream>

#include <torch/csrc/jit/runtime/graph_executor.h>
#include <torch/script.h>

#include "modelexport/errors.h"
#include "modelexport/example_inputs.h"
#include "modelexport/graph_converter.h"
#include "modelexport/graph_preparation.h"
#include "modelexport/graphml_writer.h"
#include "modelexport/mapped_archive.h"
#include "modelexport/model_locator.h"
#include "modelexport/hierarchy_sidecar.h"
#include "modelexport/input_spec_parser.h"
#include "modelexport/model_loader.h"
#include "modelexport/model_writer.h"
#include "modelexport/module_tree.h"
#include "modelexport/onnx_tensor.h"
#include "modelexport/output_paths.h"
#include "modelexport/reference_io.h"
#include "modelexport/tag_projection.h"
#include "modelexport/torch_export_loader.h"
#include "modelexport/torchscript_module_tree.h"
#include "modelexport/usage_tags.h"
#include "modelexport/value_facts.h"
#include "modelexport/weight_payloads.h"

namespace modelexport {
namespace {

// The process's peak resident set so far (VmHWM), for -v: where memory goes.
long peakRssMiB() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);)
    if (line.rfind("VmHWM:", 0) == 0) return std::stol(line.substr(6)) / 1024;
  return -1;
}

class StageClock {
 public:
  StageClock(ExportSummary& summary, std::ostream& log, bool verbose)
      : summary_(summary), log_(log), verbose_(verbose), start_(Clock::now()) {}
  void done(const std::string& stage, const std::string& detail = "") {
    auto now = Clock::now();
    double seconds = std::chrono::duration<double>(now - start_).count();
    summary_.stages.push_back({stage, seconds});
    if (verbose_)
      log_ << "[" << std::setw(8) << stage << "] " << std::fixed << std::setprecision(3) << seconds
           << " s  peak RSS " << peakRssMiB() << " MiB" << (detail.empty() ? "" : "  " + detail) << "\n";
    start_ = now;
  }

 private:
  using Clock = std::chrono::steady_clock;
  ExportSummary& summary_;
  std::ostream& log_;
  bool verbose_;
  Clock::time_point start_;
};

void addModelMetadata(onnx::ModelProto& model, const std::string& key, const std::string& value) {
  auto* entry = model.add_metadata_props();
  entry->set_key(key);
  entry->set_value(value);
}

// Stamps as node attributes, for tools that read them there (the checker rejects them).
void addHierarchyAttributes(onnx::NodeProto& node, const HierarchyStamp& stamp) {
  for (const auto& [key, value] : stampEntries(stamp)) {
    if (key.rfind("hierarchy_", 0) != 0) continue;
    auto* a = node.add_attribute();
    a->set_name(key);
    if (key == "hierarchy_count") {
      a->set_type(onnx::AttributeProto::INT);
      a->set_i(static_cast<int64_t>(stamp.tags.size()));
    } else {
      a->set_type(onnx::AttributeProto::STRING);
      a->set_s(value);
    }
  }
}

onnx::GraphProto* subgraphAttribute(onnx::NodeProto& owner, const std::string& name) {
  for (auto& attribute : *owner.mutable_attribute())
    if (attribute.name() == name) return attribute.mutable_g();
  throw std::logic_error("node " + owner.name() + " has no graph attribute " + name);
}

void setSymbolicDim(onnx::ValueInfoProto& info, int64_t dim, const std::string& label) {
  auto* d = info.mutable_type()->mutable_tensor_type()->mutable_shape()->mutable_dim(static_cast<int>(dim));
  d->clear_dim_value();
  d->set_dim_param(label);
}

// Per input (forward order), its dynamic dims by name; "*" entries apply to all inputs
// (skipping dims they do not have).
std::vector<std::map<int64_t, std::string>> resolveDynamicAxes(
    const std::map<std::string, std::map<int64_t, std::string>>& axes, const std::vector<InputSpec>& specs,
    const std::string& modelPath) {
  std::vector<std::map<int64_t, std::string>> result(specs.size());
  for (const auto& [name, dims] : axes) {
    bool found = name == "*";
    for (size_t i = 0; i < specs.size(); ++i) {
      if (name != "*" && specs[i].name != name) continue;
      found = true;
      const auto rank = static_cast<int64_t>(specs[i].shape.size());
      for (const auto& [dim, label] : dims) {
        const int64_t d = dim < 0 ? dim + rank : dim;
        if (d < 0 || d >= rank) {
          if (name == "*") continue;
          throw UserError(modelPath + ": --dynamic-axes " + name + ":" + std::to_string(dim) + ": input '" + name +
                          "' has " + std::to_string(rank) + " dims");
        }
        result[i][d] = label;
      }
    }
    if (!found) {
      std::string names;
      for (const auto& s : specs) names += (names.empty() ? "" : ", ") + s.name;
      throw UserError(modelPath + ": --dynamic-axes names '" + name + "', but the model's inputs are " + names);
    }
  }
  return result;
}

// --output-names replaces the names taken from the TorchScript return values.
void renameOutputs(PreparedGraph& prepared, const std::vector<std::string>& names, const std::string& modelPath) {
  if (names.size() != prepared.outputNames.size())
    throw UserError(modelPath + ": --output-names gives " + std::to_string(names.size()) + " names but the model has " +
                    std::to_string(prepared.outputNames.size()) + " outputs (tuples flattened)");
  std::set<std::string> seen(prepared.inputNames.begin(), prepared.inputNames.end());
  for (const auto& name : names)
    if (name.empty() || !seen.insert(name).second)
      throw UserError(modelPath + ": --output-names: '" + name + "' is empty or names an input or another output");
  prepared.outputNames = names;
}

// What the load stage hands on; nothing after it knows the file's format.
struct LoadedModel {
  std::optional<torch::jit::Module> torchscript;  // kept: --dump-io runs it
  ModuleTree tree;
  PreparedGraph prepared;
  std::unordered_map<const torch::jit::Node*, int> nodeModules;  // torch.export: from nn_module_stack
  std::vector<InputSpec> recordedInputs;                         // torch.export: dtypes and shapes
  std::map<std::string, std::map<int64_t, std::string>> symbolicDims;

  // LibTorch's own outputs for `inputs`: the module's forward, or the program's graph.
  c10::IValue runReference(const std::vector<c10::IValue>& inputs) {
    if (torchscript) return torchscript->forward(std::vector<c10::IValue>(inputs.begin(), inputs.end()));
    torch::jit::GraphExecutor executor(prepared.graph->copy(), "forward");
    torch::jit::Stack stack(inputs.begin(), inputs.end());
    executor.run(stack);
    return c10::ivalue::Tuple::create(std::move(stack));
  }
};

LoadedModel loadModel(const ExportOptions& options, StageClock& clock) {
  LoadedModel loaded;
  const std::string& path = options.modelPath;
  const bool isPt2 = std::filesystem::path(path).extension() == ".pt2";
  if (isTorchExportArchive(path)) {
    TorchExportModel program = loadTorchExport(path);
    loaded.tree = std::move(program.tree);
    loaded.prepared = std::move(program.prepared);
    loaded.nodeModules = std::move(program.nodeModules);
    loaded.recordedInputs = std::move(program.inputs);
    loaded.symbolicDims = std::move(program.symbolicDims);
    std::ostringstream detail;
    detail << "torch.export schema " << program.schemaVersion << ", " << loaded.tree.modules().size() << " modules, "
           << std::fixed << std::setprecision(1) << program.weightBytes / 1048576.0 << " MiB of weights";
    clock.done("load", detail.str());
    return loaded;
  }
  if (isPt2 && !isTorchScriptArchive(path)) {
    const std::string what = diagnoseNonTorchScript(path);
    // The TorchScript diagnosis, less its advice on making TorchScript.
    std::string cause = what.substr(0, what.find(';'));
    if (what.find("torch.save checkpoint") != std::string::npos) cause = "it is a torch.save checkpoint";
    else if (what.find("not a TorchScript model") != std::string::npos) cause = "no models/<name>.json in the zip";
    throw UserError(path + ": not a torch.export archive (" + cause +
                    "); make one with torch.export.save(torch.export.export(model, example_args), path)");
  }

  ArchiveLoadStats loadStats;
  loaded.torchscript = loadTorchScript(path, &loadStats);
  loaded.tree = torchscriptModuleTree(*loaded.torchscript);
  std::ostringstream detail;
  detail << loaded.tree.modules().size() << " modules, " << std::fixed << std::setprecision(1)
         << loadStats.mappedBytes / 1048576.0 << " MiB mapped, " << loadStats.copiedBytes / 1048576.0 << " MiB copied";
  clock.done("load", detail.str());
  try {
    loaded.prepared = prepareGraph(*loaded.torchscript);
  } catch (const UserError& e) {
    throw UserError(path + ": " + e.what());
  } catch (const c10::Error& e) {
    throw UserError(path + ": cannot prepare the graph: " + firstLine(e.what_without_backtrace()));
  }
  return loaded;
}

}  // namespace

std::vector<std::string> exportOutputPaths(const ExportOptions& options) {
  std::vector<std::string> paths{options.outputPath, sidecarPath(options.outputPath, "_hierarchy.json"),
                                 externalDataPath(options.outputPath)};
  if (options.withGraphml) {
    const GraphmlPaths graphml = graphmlPathsFor(options.outputPath);
    paths.insert(paths.end(), {graphml.graphml, graphml.data, graphml.metadata});
  }
  return paths;
}

ExportSummary exportModel(const ExportOptions& options, std::ostream& log) {
  if (options.opset < 11 || options.opset > 17)
    throw UserError("--opset-version " + std::to_string(options.opset) + " is not supported (11 to 17)");
  if (options.strategy != "htp" && options.strategy != "usage_based")
    throw UserError("--strategy '" + options.strategy + "' is unknown (htp, usage_based)");
  {
    std::filesystem::path out(options.outputPath);
    std::error_code ec;
    auto dir = out.has_parent_path() ? out.parent_path() : std::filesystem::path(".");
    if (!std::filesystem::is_directory(dir, ec))
      throw UserError(options.outputPath + ": cannot write: directory " + dir.string() + " does not exist");
    if (std::filesystem::is_directory(out, ec))
      throw UserError(options.outputPath + ": is a directory, expected a file path");
    std::vector<std::string> inputs = options.inputFiles;
    inputs.push_back(options.modelPath);
    refuseOutputsOverInputs(exportOutputPaths(options), inputs);
    // --dump-io writes last: a directory it cannot make fails now, before any output.
    if (!options.dumpIoDir.empty()) {
      std::filesystem::create_directories(options.dumpIoDir, ec);
      if (ec || !std::filesystem::is_directory(options.dumpIoDir))
        throw UserError(options.dumpIoDir + ": cannot create the --dump-io directory" +
                        (ec ? ": " + ec.message() : std::string()));
    }
  }

  ExportSummary summary;
  StageClock clock(summary, log, options.verbose);
  torch::NoGradGuard noGrad;

  // load + prepare: either loader gives the same flat graph, module tree and inputs.
  LoadedModel loaded = loadModel(options, clock);
  const ModuleTree& tree = loaded.tree;
  PreparedGraph& prepared = loaded.prepared;
  if (!options.outputNames.empty()) renameOutputs(prepared, options.outputNames, options.modelPath);
  clock.done("prepare");

  auto specs = inferInputSpecs(*prepared.graph, prepared.inputNames, options.inputShape);
  // A torch.export program records its inputs' dtypes and shapes: those are the default.
  for (size_t i = 0; i < loaded.recordedInputs.size() && i < specs.size(); ++i) {
    specs[i].dtype = loaded.recordedInputs[i].dtype;
    if (!options.inputShapeGiven) specs[i].shape = loaded.recordedInputs[i].shape;
  }
  if (!options.inputSpecs.empty()) {
    if (options.inputSpecs.size() != specs.size())
      throw UserError(options.modelPath + ": the model takes " + std::to_string(specs.size()) +
                      " inputs, " + std::to_string(options.inputSpecs.size()) + " input specs were given");
    for (size_t i = 0; i < specs.size(); ++i) {
      const std::string name = specs[i].name;
      specs[i] = options.inputSpecs[i];
      specs[i].name = name;
    }
  }
  auto inputs = assembleExampleInputs(specs, options.namedInputs);
  // Symbolic dims the program recorded stay symbolic, under their own names, unless
  // --dynamic-axes names that input.
  auto dynamicAxes = options.dynamicAxes;
  for (const auto& [name, dims] : loaded.symbolicDims)
    if (!dynamicAxes.count(name)) dynamicAxes[name] = dims;
  std::unordered_set<const torch::jit::Value*> parameters;
  for (const auto& [value, path] : prepared.parameterPaths) parameters.insert(value);
  RunResult run;
  try {
    run = runForFacts(*prepared.graph, inputs, parameters);
  } catch (const UserError& e) {
    throw UserError(options.modelPath + ": " + e.what() + " (inputs tried: --input-spec " +
                    formatInputSpecs(specs) + "; change them with --input-spec or --input-shape)");
  }
  clock.done("run", run.sizedNotComputed ? std::to_string(run.sizedNotComputed) +
                                              " ops sized, not computed (their data reaches only outputs)"
                                        : std::string());

  // Dynamic axes: a second run with those dims one larger shows which sizes and
  // shape-derived values follow them; those stay computations in the graph.
  std::vector<std::map<int64_t, std::string>> inputAxes(specs.size());
  RunResult altRun;
  if (!dynamicAxes.empty()) {
    inputAxes = resolveDynamicAxes(dynamicAxes, specs, options.modelPath);
    std::vector<c10::IValue> altInputs;
    std::vector<InputSpec> altSpecs = specs;
    for (size_t i = 0; i < inputs.size(); ++i) {
      at::Tensor t = inputs[i].toTensor();
      for (const auto& [dim, label] : inputAxes[i]) {
        t = at::cat({t, t.narrow(dim, 0, 1)}, dim);  // one more row: valid ids and masks stay valid
        altSpecs[i].shape[static_cast<size_t>(dim)] += 1;
      }
      altInputs.emplace_back(t);
    }
    try {
      altRun = runForFacts(*prepared.graph, altInputs, parameters);
    } catch (const UserError& e) {
      throw UserError(options.modelPath + ": with the dynamic axes one larger (--input-spec " + formatInputSpecs(altSpecs) +
                      ") the model fails: " + e.what());
    }
    run.facts.markVarying(altRun.facts);
    clock.done("run-dynamic");
  }

  auto tags = options.strategy == "usage_based"
                  ? usageTags(*prepared.graph, tree, prepared.parameterPaths)
                  : traceTags(*prepared.graph, tree, loaded.torchscript ? nullptr : &loaded.nodeModules);
  clock.done("tag");

  OnnxGraphBuilder builder;
  ConvertedGraph converted;
  try {
    converted = convertGraph(prepared, run.facts, tags, tree, defaultConverters(), options.opset, builder,
                             !dynamicAxes.empty());
  } catch (const UserError& e) {
    throw UserError(options.modelPath + ": " + e.what());
  }
  std::unordered_set<std::string> outputSet(converted.outputs.begin(), converted.outputs.end());
  projectTags(builder.nodes(), tree, outputSet);
  nameNodesByTag(builder.nodes(), tree);
  clock.done("convert", std::to_string(builder.nodes().size()) + " nodes");

  onnx::ModelProto model;
  model.set_ir_version(8);
  model.set_producer_name("modelexport");
  model.set_producer_version(MODELEXPORT_VERSION);
  auto* opset = model.add_opset_import();
  opset->set_domain("");
  opset->set_version(options.opset);
  auto* graph = model.mutable_graph();
  graph->set_name(tree.root().className);
  // Symbolic dims: the inputs' by their given names; an output dim that follows one of
  // them (same size in both runs) takes its name, any other varying dim a new one.
  std::map<std::pair<int64_t, int64_t>, std::string> labelBySizes;
  for (size_t i = 0; i < specs.size(); ++i) {
    *graph->add_input() = tensorValueInfo(converted.inputs[i], specs[i].dtype, specs[i].shape);
    for (const auto& [dim, label] : inputAxes[i]) {
      const int64_t size = specs[i].shape[static_cast<size_t>(dim)];
      labelBySizes[{size, size + 1}] = label;
      setSymbolicDim(*graph->mutable_input(static_cast<int>(i)), dim, label);
    }
  }
  for (size_t i = 0; i < converted.outputs.size(); ++i) {
    const torch::jit::Value* value = prepared.graph->outputs()[i];
    const auto& fact = run.facts.of(value);
    *graph->add_output() = tensorValueInfo(converted.outputs[i], fact.isTensor ? fact.dtype : at::kFloat, fact.sizes);
    for (int64_t dim : fact.dynamicDims) {
      const int64_t alt = altRun.facts.of(value).sizes.at(static_cast<size_t>(dim));
      auto known = labelBySizes.find({fact.sizes[static_cast<size_t>(dim)], alt});
      setSymbolicDim(*graph->mutable_output(static_cast<int>(i)), dim,
                     known != labelBySizes.end() ? known->second
                                                 : converted.outputs[i] + "_dim" + std::to_string(dim));
    }
  }
  // Stamps for the main graph's nodes (the sidecar lists those); nodes inside If/Loop
  // bodies are stamped the same way and go into their owner's graph attribute.
  std::vector<HierarchyStamp> stamps;
  std::vector<onnx::NodeProto*> placed(builder.nodes().size(), nullptr);
  for (size_t i = 0; i < builder.nodes().size(); ++i) {
    auto& node = builder.nodes()[i];
    const HierarchyStamp stamp = stampFor(node, tree);
    if (!options.noHierarchyStamps) setNodeMetadata(node.proto, stampEntries(stamp));
    if (options.hierarchyAttrs) addHierarchyAttributes(node.proto, stamp);
    onnx::GraphProto* target = graph;
    if (node.parent >= 0) {
      const auto& owner = builder.nodes()[static_cast<size_t>(node.parent)];
      target = subgraphAttribute(*placed[static_cast<size_t>(node.parent)],
                                 owner.subgraphs.at(static_cast<size_t>(node.branch)).attribute);
    } else {
      stamps.push_back(stamp);
    }
    placed[i] = target->add_node();
    *placed[i] = std::move(node.proto);
    for (const auto& sub : node.subgraphs) {
      auto* attribute = placed[i]->add_attribute();
      attribute->set_name(sub.attribute);
      attribute->set_type(onnx::AttributeProto::GRAPH);
      auto* body = attribute->mutable_g();
      body->set_name(placed[i]->name() + "/" + sub.attribute);
      for (const auto& in : sub.inputs) *body->add_input() = in;
      for (const auto& out : sub.outputs) *body->add_output() = out;
    }
  }
  for (auto& init : builder.initializers()) *graph->add_initializer() = std::move(init);
  addModelMetadata(model, "modelexport.source", std::filesystem::path(options.modelPath).filename().string());
  addModelMetadata(model, "modelexport.strategy", options.strategy);
  addModelMetadata(model, "modelexport.root_module", tree.root().qualifiedClass);
  inferValueInfo(model);
  clock.done("build");

  if (options.hierarchyAttrs) {
    try {
      checkModelFull(model);
    } catch (const UserError& e) {
      log << "warning: --hierarchy-attrs puts non-standard attributes on standard ops; the ONNX "
             "checker and onnxruntime reject the file (" << e.what() << "); run 'modelexport validate --repair' to move them into metadata_props\n";
    }
  } else {
    checkModelFull(model);
  }
  clock.done("check");

  summary.onnxNodes = static_cast<size_t>(graph->node_size());
  summary.initializers = static_cast<size_t>(graph->initializer_size());
  for (const auto& s : stamps) summary.stampedNodes += s.path.empty() ? 0 : 1;
  for (const auto& m : tree.modules()) summary.modules += m.tag.empty() ? 0 : 1;
  nlohmann::json statistics{{"onnx_nodes", summary.onnxNodes},
                            {"stamped_nodes", summary.stampedNodes},
                            {"initializers", summary.initializers},
                            {"tagged_modules", summary.modules},
                            {"opset", options.opset},
                            {"strategy", options.strategy}};
  WrittenModel written = writeModelWithPayloads(
      model, builder.payloads(), options.outputPath,
      options.externalData ? ExternalData::Always : ExternalData::Auto, options.tempDir);
  summary.externalDataPath = written.dataPath;
  summary.sidecarPath = sidecarPath(options.outputPath, "_hierarchy.json");
  writeFileAtomically(summary.sidecarPath,
                      buildHierarchySidecar(tree, *graph, stamps, statistics).dump(2) + "\n",
                      options.tempDir);
  clock.done("write");

  if (options.withGraphml) {
    // Written from the finished model so import-onnx can rebuild it; a failure here
    // leaves the ONNX file in place and is reported by the caller.
    try {
      summary.graphmlPath = graphmlPathsFor(options.outputPath).graphml;
      // Inline weights stay placeholders in `model`; GraphML takes their bytes from memory.
      std::vector<at::Tensor> keepAlive;
      PayloadBytes payloadBytes;
      if (!written.external) payloadBytes = payloadByteViews(builder.payloads(), keepAlive);
      writeHierarchicalGraphml(model, options.outputPath, options.tempDir, payloadBytes);
    } catch (const std::exception& e) {
      summary.graphmlPath.clear();
      summary.graphmlError = firstLine(e.what());
    }
    clock.done("graphml");
  }

  if (!options.dumpIoDir.empty()) {
    c10::IValue reference = loaded.runReference(inputs);
    writeReferenceIo(options.dumpIoDir, prepared.inputNames, inputs, converted.outputs,
                     flattenOutputs(reference));
    clock.done("dump-io");
  }
  return summary;
}

}  // namespace modelexport
