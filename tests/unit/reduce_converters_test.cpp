// Reduction, cumulative-sum and sorting converters: each test exports the op through the
// real pipeline and compares onnxruntime with LibTorch (integer and bool outputs exactly).
#include <gtest/gtest.h>

#include "test_support.h"

namespace modelexport::testing {
namespace {

// ReduceSum moved its axes from an attribute to an input at opset 13; the other Reduce
// ops keep the attribute through 17. Forms that use ReduceSum run at all three.
const int kReduceOpsets[] = {11, 13, 17};

TEST(ReduceConverters, SumAllDimsKeepdimDtype) {
  for (int opset : kReduceOpsets)
    expectOpMatches("sum_float_" + std::to_string(opset),
                    "def forward(self, x):\n"
                    "  return (torch.sum(x), torch.sum(x, [1], keepdim=True), torch.sum(x, [0, -1]),\n"
                    "         torch.sum(x, dtype=7), torch.sum(x, [], True))\n",
                    {floatInput({2, 3, 4})}, opts(opset, 1e-5, {"ReduceSum"}));
}

TEST(ReduceConverters, SumIntegerAndBool) {
  for (int opset : kReduceOpsets)
    expectOpMatches("sum_int_bool_" + std::to_string(opset),
                    "def forward(self, i, b):\n"
                    "  return torch.sum(i), torch.sum(i, [0], True), torch.sum(b), torch.sum(b, [1])\n",
                    {longInput({3, 5}, 100), boolInput({3, 5})}, opts(opset, 0, {"ReduceSum"}));
}

TEST(ReduceConverters, Mean) {
  for (int opset : kReduceOpsets)
    expectOpMatches("mean_" + std::to_string(opset),
                    "def forward(self, x):\n"
                    "  return torch.mean(x), torch.mean(x, [1, 2], keepdim=True), torch.mean(x, [-1])\n",
                    {floatInput({2, 3, 4})}, opts(opset, 1e-5, {"ReduceMean"}));
}

TEST(ReduceConverters, AmaxAmin) {
  expectOpMatches("amax_amin",
                  "def forward(self, x, i):\n"
                  "  return (torch.amax(x, [1]), torch.amin(x, [0, 2], keepdim=True), torch.amax(x),\n"
                  "         torch.amax(i, [0]), torch.amin(i))\n",
                  {floatInput({2, 3, 4}), longInput({4, 3}, 50)}, opts(13, 0, {"ReduceMax", "ReduceMin"}));
}

TEST(ReduceConverters, MaxMinAllDimAndBinary) {
  for (int opset : {11, 17})
    expectOpMatches("max_min_" + std::to_string(opset),
                    "def forward(self, x, y):\n"
                    "  v, i = torch.max(x, 1)\n"
                    "  w, j = torch.min(x, -1, True)\n"
                    "  return torch.max(x), torch.min(x), v, i, w, j, torch.max(x, y), torch.min(x, y)\n",
                    {floatInput({3, 4}), floatInput({3, 4})}, opts(opset, 0, {"ReduceMax", "ArgMax", "ArgMin", "Max", "Min"}));
}

TEST(ReduceConverters, MaxMinIntegers) {
  // Max/Min take integers only from opset 12; at 11 they run in double.
  for (int opset : {11, 14})
    expectOpMatches("max_min_int_" + std::to_string(opset),
                    "def forward(self, a, b):\n"
                    "  v, i = torch.max(a, 0)\n"
                    "  return torch.max(a), v, i, torch.max(a, b), torch.min(a, b)\n",
                    {longInput({4, 5}, 6), longInput({4, 5}, 6)}, opts(opset, 0, {"ArgMax", "Max", "Min"}));
}

TEST(ReduceConverters, ArgmaxArgmin) {
  expectOpMatches("argmax_argmin",
                  "def forward(self, x, i):\n"
                  "  return (torch.argmax(x), torch.argmax(x, 1), torch.argmin(x, -1, True),\n"
                  "         torch.argmax(x, keepdim=True), torch.argmin(i, 0), torch.argmax(i))\n",
                  {floatInput({3, 4, 5}), longInput({6, 3}, 4)}, opts(14, 0, {"ArgMax", "ArgMin"}));
}

TEST(ReduceConverters, Prod) {
  expectOpMatches("prod",
                  "def forward(self, x, i):\n"
                  "  return torch.prod(x), torch.prod(x, 1), torch.prod(x, 2, True), torch.prod(i, 0)\n",
                  {floatInput({2, 3, 4}), longInput({3, 4}, 5)}, opts(14, 1e-5, {"ReduceProd"}));
}

TEST(ReduceConverters, VarStdUnbiasedAndCorrection) {
  for (int opset : kReduceOpsets)
    expectOpMatches("var_std_" + std::to_string(opset),
                    "def forward(self, x):\n"
                    "  return (torch.var(x), torch.var(x, [1]), torch.std(x, [0, 2], True, True),\n"
                    "         torch.std(x, unbiased=False), torch.var(x, [1], correction=0),\n"
                    "         torch.std(x, [-1], correction=2, keepdim=True))\n",
                    {floatInput({3, 4, 5})}, opts(opset, 1e-5, {"ReduceSum", "ReduceMean", "Sqrt"}));
}

TEST(ReduceConverters, NormAndVectorNorm) {
  for (int opset : kReduceOpsets)
    expectOpMatches("norm_" + std::to_string(opset),
                    "def forward(self, x):\n"
                    "  return (torch.norm(x), torch.norm(x, 1, [1]), torch.norm(x, 3, [1], True),\n"
                    "         torch.linalg_vector_norm(x), torch.linalg_vector_norm(x, 1.0, [0, 2], True),\n"
                    "         torch.linalg_vector_norm(x, float('inf'), [2]))\n",
                    {floatInput({2, 3, 4})}, opts(opset, 1e-5, {"ReduceL2", "ReduceL1", "ReduceSum", "ReduceMax"}));
}

TEST(ReduceConverters, Logsumexp) {
  expectOpMatches("logsumexp",
                  "def forward(self, x):\n"
                  "  return torch.logsumexp(x, [1]), torch.logsumexp(x, [0, 2], True)\n",
                  {floatInput({2, 3, 4})}, opts(14, 1e-5, {"ReduceLogSumExp"}));
}

TEST(ReduceConverters, AllAny) {
  expectOpMatches("all_any",
                  "def forward(self, b, x):\n"
                  "  return (torch.all(b), torch.any(b, 1), torch.all(x > -1.0, 0, True), torch.any(x > 1.0),\n"
                  "         torch.all(b, 0))\n",
                  {boolInput({4, 3}), floatInput({4, 3})}, opts(14, 0, {"ReduceMin", "ReduceMax"}));
}

TEST(ReduceConverters, CountNonzero) {
  for (int opset : kReduceOpsets)
    expectOpMatches("count_nonzero_" + std::to_string(opset),
                    "def forward(self, i, x):\n"
                    "  return torch.count_nonzero(i), torch.count_nonzero(i, 1), torch.count_nonzero(x, [0])\n",
                    {longInput({4, 6}, 3), floatInput({3, 2})}, opts(opset, 0, {"ReduceSum"}));
}

TEST(ReduceConverters, Cumsum) {
  expectOpMatches("cumsum",
                  "def forward(self, x, i, b):\n"
                  "  return (torch.cumsum(x, 1), torch.cumsum(i, 0), torch.cumsum(b, -1),\n"
                  "         torch.cumsum(x, 0, dtype=7))\n",
                  {floatInput({3, 5}), longInput({4, 3}, 10), boolInput({2, 6})}, opts(14, 1e-5, {"CumSum"}));
}

TEST(ReduceConverters, TopkLargestSmallestSorted) {
  expectOpMatches("topk",
                  "def forward(self, x):\n"
                  "  v, i = torch.topk(x, 3)\n"
                  "  w, j = torch.topk(x, 2, 0, False)\n"
                  "  u, k = torch.topk(x, 4, 1, True, False)\n"
                  "  return v, i, w, j, torch.sum(u, 1)\n",
                  {floatInput({5, 7})}, opts(14, 1e-5, {"TopK"}));
}

TEST(ReduceConverters, SortAndArgsort) {
  expectOpMatches("sort",
                  "def forward(self, x):\n"
                  "  v, i = torch.sort(x)\n"
                  "  w, j = torch.sort(x, 0, True)\n"
                  "  return v, i, w, j, torch.argsort(x, 1, True)\n",
                  {floatInput({4, 6})}, opts(14, 0, {"TopK"}));
}

}  // namespace
}  // namespace modelexport::testing
