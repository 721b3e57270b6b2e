#include "modelexport/onnx_axes_forms.h"

#include <stdexcept>
#include <string>

namespace modelexport {
namespace {

struct AxesInputSince {
  std::string_view opType;
  int opset;  // the first opset whose form takes the axes as an input
};

constexpr AxesInputSince kAxesInputSince[] = {
    {"Squeeze", 13},    {"Unsqueeze", 13},    {"ReduceSum", 13},    {"ReduceMean", 18},
    {"ReduceMax", 18},  {"ReduceMin", 18},    {"ReduceProd", 18},   {"ReduceL1", 18},
    {"ReduceL2", 18},   {"ReduceLogSum", 18}, {"ReduceLogSumExp", 18}, {"ReduceSumSquare", 18}};

}  // namespace

AxesForm axesFormAt(std::string_view opType, int opset) {
  for (const AxesInputSince& entry : kAxesInputSince)
    if (entry.opType == opType) return opset >= entry.opset ? AxesForm::Input : AxesForm::Attribute;
  throw std::logic_error("no axes form declared for ONNX " + std::string(opType));
}

}  // namespace modelexport
