#pragma once
// The export pipeline: load, prepare, run, tag, convert, write (docs/ARCHITECTURE.md).
#include <ostream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "modelexport/example_inputs.h"
#include "modelexport/named_inputs.h"

namespace modelexport {

struct ExportOptions {
  std::string modelPath;
  // What the user exported, for the model's `modelexport.source`: the repo id, or the
  // directory's name, when the Python front end made modelPath; empty: modelPath's name.
  std::string sourceName;
  std::vector<std::string> inputFiles;  // other files the export reads (tokenizer, config)
  std::string outputPath;
  std::vector<int64_t> inputShape{1, 128};
  bool inputShapeGiven = false;  // --input-shape given: it wins over a .pt2's recorded shapes
  std::vector<InputSpec> inputSpecs;  // when set, overrides inputShape and dtype inference
  std::vector<NamedInput> namedInputs;  // by name (--input-spec, --input-text, inputs.json)
  std::vector<std::string> outputNames;  // --output-names: one per flattened output, else derived
  // --dynamic-axes: input name -> dim -> symbolic name; "*" applies to every input
  // (--dynamic-batch is {"*": {0: "batch"}}).
  std::map<std::string, std::map<int64_t, std::string>> dynamicAxes;
  // --opset-version; unset: the lowest opset from 14 up that the model needs (opset_choice.h).
  std::optional<int> opset;
  std::string strategy = "htp";
  std::string tempDir;
  bool verbose = false;
  bool externalData = false;    // weights to <output>.data even when under 2 GB
  bool hierarchyAttrs = false;  // also write stamps as node attributes (fails the checker)
  std::string dumpIoDir;        // write example inputs and LibTorch's outputs here
  bool withGraphml = false;     // also write the hierarchical GraphML (docs/GRAPHML.md)
  bool noHierarchyStamps = false;  // leave metadata_props off the ONNX nodes
  bool withReport = false;      // also write <stem>_export_report.json (export_report.h)
};

// Every file an export with these options may write: the ONNX file, its sidecar, its
// external data, and the GraphML files with --with-graphml.
std::vector<std::string> exportOutputPaths(const ExportOptions& options);

struct StageTime {
  std::string stage;
  double seconds;
};

struct ExportSummary {
  size_t onnxNodes = 0;
  size_t stampedNodes = 0;
  size_t modules = 0;
  size_t initializers = 0;
  std::vector<StageTime> stages;
  int opset = 0;                 // the opset written: --opset-version's, or the one chosen
  std::string sidecarPath;
  std::string externalDataPath;  // set when weights went to ONNX external data
  std::string graphmlPath;       // set when the GraphML was written
  std::string graphmlError;      // set when it was asked for and failed (the ONNX file stays)
  std::vector<std::string> convertedKeys;  // op table keys whose converters ran (ConvertedGraph)
  std::vector<InputSpec> exampleInputs;    // what the model ran on
  std::vector<std::map<int64_t, std::string>> inputDims;  // per input: its symbolic dims
  std::vector<std::string> inputNames, outputNames;        // of the ONNX graph
};

ExportSummary exportModel(const ExportOptions& options, std::ostream& log);

}  // namespace modelexport
