#include "modelexport/exporter.h"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iomanip>
#include <set>
#include <sstream>

#include <torch/csrc/jit/runtime/graph_executor.h>
#include <torch/script.h>

#include "modelexport/convert_context.h"
#include "modelexport/errors.h"
#include "modelexport/example_inputs.h"
#include "modelexport/export_report.h"
#include "modelexport/graph_converter.h"
#include "modelexport/graph_preparation.h"
#include "modelexport/graphml_writer.h"
#include "modelexport/mapped_archive.h"
#include "modelexport/model_file_format.h"
#include "modelexport/hierarchy_sidecar.h"
#include "modelexport/input_spec_parser.h"
#include "modelexport/libtorch_errors.h"
#include "modelexport/model_assembly.h"
#include "modelexport/model_loader.h"
#include "modelexport/model_writer.h"
#include "modelexport/module_tree.h"
#include "modelexport/onnx_tensor.h"
#include "modelexport/opset_choice.h"
#include "modelexport/output_paths.h"
#include "modelexport/recorded_module_tree.h"
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

// What the load stage hands on, the same from every front end: nothing after it knows
// the file's format. What a front end does not record is empty.
struct LoadedModel {
  ModuleTree tree;
  PreparedGraph prepared;
  // Each node's module (hierarchy/: callstackModules, recordedModuleTree); nodes without
  // one are the root's or auxiliary.
  std::unordered_map<const torch::jit::Node*, int> nodeModules;
  std::vector<InputSpec> recordedInputs;  // dtypes and shapes the file recorded
  std::map<std::string, std::map<int64_t, std::string>> symbolicDims;
  std::unordered_map<const torch::jit::Value*, std::vector<int64_t>> symbolicValues;
  // LibTorch's own outputs for some inputs (--dump-io), run as the front end's model runs.
  std::function<c10::IValue(const std::vector<c10::IValue>&)> runReference;
};

// A .pt2's reference is its program's graph: the file holds no other form of the model.
c10::IValue runProgramGraph(torch::jit::Graph& graph, const std::vector<c10::IValue>& inputs) {
  torch::jit::GraphExecutor executor(graph.copy(), "forward");
  torch::jit::Stack stack(inputs.begin(), inputs.end());
  executor.run(stack);
  return c10::ivalue::Tuple::create(std::move(stack));
}

LoadedModel loadModel(const ExportOptions& options, StageClock& clock) {
  LoadedModel loaded;
  const std::string& path = options.modelPath;
  // The sniffer picks the loader. A file named .pt2 that is no TorchScript goes to the
  // torch.export loader, whose refusal says what the file is instead.
  const ModelFileFormat format = sniffModelFile(path);
  const bool namedPt2 = std::filesystem::path(path).extension() == ".pt2";
  if (format == ModelFileFormat::kTorchExport || (namedPt2 && format != ModelFileFormat::kTorchScript)) {
    TorchExportModel program = loadTorchExport(path);
    RecordedModuleTree modules = recordedModuleTree(program.moduleFrames);
    loaded.tree = std::move(modules.tree);
    loaded.nodeModules = std::move(modules.nodeModules);
    loaded.prepared = std::move(program.prepared);
    loaded.recordedInputs = std::move(program.inputs);
    loaded.symbolicDims = std::move(program.symbolicDims);
    loaded.symbolicValues = std::move(program.symbolicValues);
    loaded.runReference = [graph = loaded.prepared.graph](const std::vector<c10::IValue>& inputs) {
      return runProgramGraph(*graph, inputs);
    };
    std::ostringstream detail;
    detail << "torch.export schema " << program.schemaVersion << ", " << loaded.tree.modules().size() << " modules, "
           << std::fixed << std::setprecision(1) << program.weightBytes / 1048576.0 << " MiB of weights";
    clock.done("load", detail.str());
    return loaded;
  }
  ArchiveLoadStats loadStats;
  // A TorchScript file's reference is its module's forward, not the graph prepare makes of
  // it: --dump-io checks the prepare stage too.
  auto module = std::make_shared<torch::jit::Module>(loadTorchScript(path, &loadStats));
  loaded.runReference = [module](const std::vector<c10::IValue>& inputs) {
    return module->forward(std::vector<c10::IValue>(inputs.begin(), inputs.end()));
  };
  loaded.tree = torchscriptModuleTree(*module);
  std::ostringstream detail;
  detail << loaded.tree.modules().size() << " modules, " << std::fixed << std::setprecision(1)
         << loadStats.mappedBytes / 1048576.0 << " MiB mapped, " << loadStats.copiedBytes / 1048576.0 << " MiB copied";
  clock.done("load", detail.str());
  try {
    loaded.prepared = prepareGraph(*module);
  } catch (const UserError& e) {
    throw UserError(path + ": " + e.what(), e.detail());
  } catch (const c10::Error& e) {
    throw UserError(path + ": cannot prepare the graph: " + libTorchCause(e), libTorchText(e));
  }
  loaded.nodeModules = callstackModules(*loaded.prepared.graph, loaded.tree);
  return loaded;
}

}  // namespace

std::vector<std::string> exportOutputPaths(const ExportOptions& options) {
  std::vector<std::string> paths{options.outputPath, sidecarPath(options.outputPath, "_hierarchy.json"),
                                 externalDataPath(options.outputPath)};
  if (options.withReport) paths.push_back(exportReportPath(options.outputPath));
  if (options.withGraphml) {
    const GraphmlPaths graphml = graphmlPathsFor(options.outputPath);
    paths.insert(paths.end(), {graphml.graphml, graphml.data, graphml.metadata});
  }
  return paths;
}

namespace {

// Options that are wrong, an output over an input, a directory that cannot be written:
// all refused before any work.
void checkBeforeWork(const ExportOptions& options) {
  if (options.opset && (*options.opset < kMinOpset || *options.opset > kMaxOpset))
    throw UserError("--opset-version " + std::to_string(*options.opset) + " is not supported (" +
                    std::to_string(kMinOpset) + " to " + std::to_string(kMaxOpset) + ")");
  if (options.strategy != "htp" && options.strategy != "usage_based")
    throw UserError("--strategy '" + options.strategy + "' is unknown (htp, usage_based)");
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

// run stage: the example inputs, the facts of one run on them and, with dynamic axes, of
// a second run with those dims one larger.
struct ExampleRun {
  std::vector<InputSpec> specs;
  std::vector<c10::IValue> inputs;
  std::vector<std::map<int64_t, std::string>> inputAxes;  // per input: dim -> label
  RunResult run, altRun;
  bool dynamic = false;
};

ExampleRun runExample(const LoadedModel& loaded, const ExportOptions& options, const OpFactsTable& ops,
                      StageClock& clock) {
  const PreparedGraph& prepared = loaded.prepared;
  ExampleRun example;
  auto& specs = example.specs;
  specs = inferInputSpecs(*prepared.graph, prepared.inputNames, options.inputShape, ops);
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
  try {
    example.inputs = assembleExampleInputs(specs, options.namedInputs);
  } catch (const UserError& e) {
    throw UserError(options.modelPath + ": " + e.what(), e.detail());
  }
  // Symbolic dims the program recorded stay symbolic, under their own names, unless
  // --dynamic-axes names that input.
  auto dynamicAxes = options.dynamicAxes;
  for (const auto& [name, dims] : loaded.symbolicDims)
    if (!dynamicAxes.count(name)) dynamicAxes[name] = dims;
  std::unordered_set<const torch::jit::Value*> parameters;
  for (const auto& [value, path] : prepared.parameterPaths) parameters.insert(value);
  try {
    example.run = runForFacts(*prepared.graph, example.inputs, ops, parameters);
  } catch (const UserError& e) {
    throw UserError(options.modelPath + ": " + e.what() + " (inputs tried: --input-spec " +
                        formatInputSpecs(specs) + "; change them with --input-spec or --input-shape)",
                    e.detail());
  }
  const size_t sized = example.run.sizedNotComputed;
  clock.done("run", sized ? std::to_string(sized) + " ops sized, not computed (their data reaches only outputs)"
                          : std::string());

  // Dynamic axes: a second run with those dims one larger shows which sizes and
  // shape-derived values follow them; those stay computations in the graph. Sizes that
  // depend on data (boxes kept by nms) vary in that run too, so what follows them stays
  // computed as well: the file is right for other inputs than the example.
  example.inputAxes.resize(specs.size());
  const bool dataDependent = hasDataDependentSizes(prepared.graph->block(), ops, &example.run.facts);
  example.dynamic = !dynamicAxes.empty() || dataDependent;
  if (!example.dynamic) return example;
  example.inputAxes = resolveDynamicAxes(dynamicAxes, specs, options.modelPath);
  std::vector<c10::IValue> altInputs;
  std::vector<InputSpec> altSpecs = specs;
  for (size_t i = 0; i < example.inputs.size(); ++i) {
    at::Tensor t = example.inputs[i].toTensor();
    for (const auto& [dim, label] : example.inputAxes[i]) {
      t = at::cat({t, t.narrow(dim, 0, 1)}, dim);  // one more row: valid ids and masks stay valid
      altSpecs[i].shape[static_cast<size_t>(dim)] += 1;
    }
    altInputs.emplace_back(t);
  }
  try {
    example.altRun = runForFacts(*prepared.graph, altInputs, ops, parameters, dataDependent);
  } catch (const UserError& e) {
    const std::string varied = dynamicAxes.empty() ? std::string()
                                                   : "the dynamic axes one larger (--input-spec " + formatInputSpecs(altSpecs) + ")";
    throw UserError(options.modelPath + ": with " + varied + (dataDependent && !varied.empty() ? " and " : "") +
                    (dataDependent ? "another count of the results of each data-dependent op (nms, boolean masks)" : "") +
                    " the model fails: " + e.what());
  }
  example.run.facts.markVarying(example.altRun.facts, ops);
  // A program whose own symbolic dims are the dynamic axes says which values follow them,
  // also those the run with the axes one larger cannot tell (n // 20 of n and n + 1).
  std::set<std::pair<std::string, int64_t>> axes, symbolic;
  for (size_t i = 0; i < specs.size(); ++i)
    for (const auto& [dim, label] : example.inputAxes[i]) axes.emplace(specs[i].name, dim);
  for (const auto& [name, dims] : loaded.symbolicDims)
    for (const auto& [dim, symbol] : dims) symbolic.emplace(name, dim);
  if (!symbolic.empty() && axes == symbolic) example.run.facts.markSymbolic(*prepared.graph, loaded.symbolicValues, ops);
  clock.done("run-dynamic");
  return example;
}

// convert stage: ONNX nodes from the graph, tags projected onto auxiliary nodes, names.
ConvertedGraph convertToOnnx(const LoadedModel& loaded, const ExampleRun& example,
                             const std::unordered_map<const torch::jit::Node*, NodeTag>& tags,
                             const ExportOptions& options, int opset, OnnxGraphBuilder& builder) {
  ConvertedGraph converted;
  try {
    converted = convertGraph(loaded.prepared, example.run.facts, tags, loaded.tree, defaultConverters(), opset,
                             builder, example.dynamic);
  } catch (const NewerOpsetNeeded& e) {
    throw NewerOpsetNeeded(options.modelPath + ": " + e.what(), e.opset(), e.reason(), e.detail());
  } catch (const UserError& e) {
    throw UserError(options.modelPath + ": " + e.what(), e.detail());
  }
  std::unordered_set<std::string> outputSet(converted.outputs.begin(), converted.outputs.end());
  projectTags(builder.nodes(), loaded.tree, outputSet);
  nameNodesByTag(builder.nodes(), loaded.tree);
  return converted;
}

// The model's inputs and outputs. Symbolic dims: the inputs' by their given names; an
// output dim that follows one of them (same size in both runs) takes its name, any other
// varying dim a new one.
ModelDescription describeModel(const LoadedModel& loaded, const ExampleRun& example, const ConvertedGraph& converted,
                               const ExportOptions& options, int opset) {
  ModelDescription description;
  description.opset = opset;
  description.graphName = loaded.tree.root().className;
  description.stampMetadata = !options.noHierarchyStamps;
  description.stampAttributes = options.hierarchyAttrs;
  std::map<std::pair<int64_t, int64_t>, std::string> labelBySizes;
  for (size_t i = 0; i < example.specs.size(); ++i) {
    GraphValue input{converted.inputs[i], example.specs[i].dtype, example.specs[i].shape, example.inputAxes[i]};
    for (const auto& [dim, label] : example.inputAxes[i]) {
      const int64_t size = example.specs[i].shape[static_cast<size_t>(dim)];
      labelBySizes[{size, size + 1}] = label;
    }
    description.inputs.push_back(input);
  }
  for (size_t i = 0; i < converted.outputs.size(); ++i) {
    const torch::jit::Value* value = loaded.prepared.graph->outputs()[i];
    const auto& fact = example.run.facts.of(value);
    GraphValue output{converted.outputs[i], fact.isTensor ? carriedType(fact.dtype) : at::kFloat, fact.sizes, {}};
    for (int64_t dim : fact.dynamicDims) {
      const int64_t alt = example.altRun.facts.of(value).sizes.at(static_cast<size_t>(dim));
      auto known = labelBySizes.find({fact.sizes[static_cast<size_t>(dim)], alt});
      output.symbolicDims[dim] =
          known != labelBySizes.end() ? known->second : converted.outputs[i] + "_dim" + std::to_string(dim);
    }
    description.outputs.push_back(output);
  }
  const std::string source =
      options.sourceName.empty() ? std::filesystem::path(options.modelPath).filename().string() : options.sourceName;
  description.metadata = {{"modelexport.source", source},
                          {"modelexport.strategy", options.strategy},
                          {"modelexport.root_module", loaded.tree.root().qualifiedClass}};
  return description;
}

// check stage: the full ONNX check; with --hierarchy-attrs its failure is a warning.
void checkExport(const onnx::ModelProto& model, const ExportOptions& options, std::ostream& log) {
  if (!options.hierarchyAttrs) return checkModelFull(model);
  try {
    checkModelFull(model);
  } catch (const UserError& e) {
    log << "warning: --hierarchy-attrs puts non-standard attributes on standard ops; the ONNX "
           "checker and onnxruntime reject the file (" << e.what() << "); run 'modelexport validate --repair' to move them into metadata_props\n";
  }
}

// write stage: the model with its weights, then the sidecar.
WrittenModel writeExport(AssembledModel& assembled, const OnnxGraphBuilder& builder, const ModuleTree& tree,
                         const ExportOptions& options, ExportSummary& summary) {
  const onnx::GraphProto& graph = assembled.model.graph();
  summary.onnxNodes = static_cast<size_t>(graph.node_size());
  summary.initializers = static_cast<size_t>(graph.initializer_size());
  for (const auto& s : assembled.stamps) summary.stampedNodes += s.path.empty() ? 0 : 1;
  for (const auto& m : tree.modules()) summary.modules += m.tag.empty() ? 0 : 1;
  nlohmann::json statistics{{"onnx_nodes", summary.onnxNodes},
                            {"stamped_nodes", summary.stampedNodes},
                            {"initializers", summary.initializers},
                            {"tagged_modules", summary.modules},
                            {"opset", summary.opset},
                            {"strategy", options.strategy}};
  WrittenModel written = writeModelWithPayloads(
      assembled.model, builder.payloads(), options.outputPath,
      options.externalData ? ExternalData::Always : ExternalData::Auto, options.tempDir);
  summary.externalDataPath = written.dataPath;
  summary.sidecarPath = sidecarPath(options.outputPath, "_hierarchy.json");
  writeFileAtomically(summary.sidecarPath,
                      buildHierarchySidecar(tree, assembled.model.graph(), assembled.stamps, statistics).dump(2) + "\n",
                      options.tempDir);
  return written;
}

// --with-graphml: written from the finished model so import-onnx can rebuild it; a
// failure here leaves the ONNX file in place and is reported by the caller.
void writeGraphml(const onnx::ModelProto& model, const OnnxGraphBuilder& builder, const WrittenModel& written,
                  const ExportOptions& options, ExportSummary& summary) {
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
}

}  // namespace

ExportSummary exportModel(const ExportOptions& options, std::ostream& log) {
  checkBeforeWork(options);
  ExportSummary summary;
  StageClock clock(summary, log, options.verbose);
  torch::NoGradGuard noGrad;

  LoadedModel loaded = loadModel(options, clock);
  if (!options.outputNames.empty()) renameOutputs(loaded.prepared, options.outputNames, options.modelPath);
  clock.done("prepare");

  // The op table's facts, declared with the converters, for the stages before conversion.
  const OpFactsTable& ops = defaultConverters().opFacts();
  ExampleRun example = runExample(loaded, options, ops, clock);
  summary.exampleInputs = example.specs;
  summary.inputDims = example.inputAxes;

  const auto tags = options.strategy == "usage_based"
                        ? usageTags(*loaded.prepared.graph, loaded.tree, loaded.prepared.parameterPaths)
                        : traceTags(*loaded.prepared.graph, loaded.tree, ops, &loaded.nodeModules);
  clock.done("tag");

  // convert, build and check at the opset; without --opset-version again at a newer one
  // when the model needs it (the load, run and tag stages are not repeated).
  std::optional<OnnxGraphBuilder> builderAtOpset;
  std::optional<AssembledModel> assembledAtOpset;
  ConvertedGraph converted;
  const OpsetChoice choice = runAtChosenOpset(options.opset, [&](int opset) {
    OnnxGraphBuilder& builder = builderAtOpset.emplace();
    converted = convertToOnnx(loaded, example, tags, options, opset, builder);
    clock.done("convert", std::to_string(builder.nodes().size()) + " nodes at opset " + std::to_string(opset));
    AssembledModel& assembled =
        assembledAtOpset.emplace(assembleModel(builder, loaded.tree, describeModel(loaded, example, converted, options, opset)));
    computeBfloat16InFloat(assembled);
    inferValueInfo(assembled.model);
    clock.done("build");
    checkExport(assembled.model, options, log);
    clock.done("check");
  });
  if (const std::string note = opsetChoiceNote(choice); !note.empty()) log << note << "\n";
  OnnxGraphBuilder& builder = *builderAtOpset;
  AssembledModel& assembled = *assembledAtOpset;
  summary.opset = choice.opset;
  summary.convertedKeys = converted.convertedKeys;
  summary.inputNames = converted.inputs;
  summary.outputNames = converted.outputs;

  const WrittenModel written = writeExport(assembled, builder, loaded.tree, options, summary);
  clock.done("write");

  if (options.withGraphml) {
    writeGraphml(assembled.model, builder, written, options, summary);
    clock.done("graphml");
  }
  if (!options.dumpIoDir.empty()) {
    const c10::IValue reference = loaded.runReference(example.inputs);
    writeReferenceIo(options.dumpIoDir, loaded.prepared.inputNames, example.inputs, converted.outputs,
                     flattenOutputs(reference));
    clock.done("dump-io");
  }
  return summary;
}

}  // namespace modelexport
