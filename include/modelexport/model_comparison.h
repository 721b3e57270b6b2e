#pragma once
// compare A.onnx B.onnx: structure (inputs, outputs, op counts, initializers) and
// hierarchy (modules on one side only, per-module node counts, matched nodes whose tags
// differ). The JSON report is the data; the summary is rendered from it.
#include <string>

#include <nlohmann/json.hpp>
#include <onnx/onnx_pb.h>

namespace modelexport {

// When the two files read their hierarchy from different sources (our stamps against a
// torch.onnx file's scoped names), modules and node tags are compared by module
// attribute path, since the tag spellings differ; otherwise by tag.
nlohmann::json compareModels(const onnx::ModelProto& a, const onnx::ModelProto& b,
                             const std::string& labelA, const std::string& labelB);

std::string renderComparisonSummary(const nlohmann::json& report);

}  // namespace modelexport
