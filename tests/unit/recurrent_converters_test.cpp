// Recurrent converters: each test exports aten::lstm / gru / rnn_* (and the cells) through
// the real pipeline and compares onnxruntime with LibTorch. Weights are module parameters
// in PyTorch's packed layout, as nn.LSTM / nn.GRU / nn.RNN hold them.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "test_support.h"

namespace modelexport::testing {
namespace {

// Weights small enough that the gates do not saturate.
at::Tensor smallWeight(std::vector<int64_t> shape, uint64_t seed) { return randomTensor(std::move(shape), seed) * 0.4; }

// The parameters of a recurrent layer stack and the TorchScript list that passes them,
// in PyTorch's order: layer by layer, forward before reverse, w_ih, w_hh, b_ih, b_hh.
struct StackParameters {
  TestParameters parameters;
  std::string list;
};

StackParameters stackParameters(int64_t gates, int64_t inputSize, int64_t hidden, int64_t layers, bool bidirectional,
                                bool biases) {
  StackParameters out;
  const int64_t directions = bidirectional ? 2 : 1;
  uint64_t seed = 100;
  out.list = "[";
  for (int64_t layer = 0; layer < layers; ++layer) {
    for (int64_t d = 0; d < directions; ++d) {
      const std::string suffix = "_l" + std::to_string(layer) + (d == 1 ? "_reverse" : "");
      const int64_t in = layer == 0 ? inputSize : hidden * directions;
      std::vector<std::pair<std::string, at::Tensor>> group{{"weight_ih" + suffix, smallWeight({gates * hidden, in}, seed++)},
                                                            {"weight_hh" + suffix, smallWeight({gates * hidden, hidden}, seed++)}};
      if (biases) {
        group.push_back({"bias_ih" + suffix, smallWeight({gates * hidden}, seed++)});
        group.push_back({"bias_hh" + suffix, smallWeight({gates * hidden}, seed++)});
      }
      for (auto& [name, tensor] : group) {
        out.list += (out.list.size() > 1 ? ", self." : "self.") + name;
        out.parameters.push_back({name, tensor});
      }
    }
  }
  out.list += "]";
  return out;
}

std::string flag(bool b) { return b ? "True" : "False"; }

// Every combination that changes the ONNX graph: layers, directions, batch_first, biases,
// initial states given or zeros.
TEST(RecurrentConverters, LstmLayers) {
  struct Case {
    int64_t layers;
    bool bidirectional, batchFirst, biases;
  };
  for (const Case& c : {Case{1, false, false, true}, Case{2, true, true, true}, Case{2, false, true, false},
                        Case{1, true, false, false}}) {
    const auto p = stackParameters(4, 5, 6, c.layers, c.bidirectional, c.biases);
    const int64_t states = c.layers * (c.bidirectional ? 2 : 1);
    const std::string args = p.list + ", " + flag(c.biases) + ", " + std::to_string(c.layers) + ", 0.0, False, " +
                             flag(c.bidirectional) + ", " + flag(c.batchFirst);
    const std::string name = "lstm_" + std::to_string(c.layers) + flag(c.bidirectional) + flag(c.batchFirst) +
                             flag(c.biases);
    // With initial states, and with the zeros nn.LSTM makes when none are given.
    expectOpMatches(name,
                    "def forward(self, x, h, c):\n"
                    "  y, hn, cn = torch.lstm(x, [h, c], " + args + ")\n"
                    "  z = torch.zeros([" + std::to_string(states) + ", " + (c.batchFirst ? "3" : "2") + ", 6])\n"
                    "  y0, hn0, cn0 = torch.lstm(x, [z, z], " + args + ")\n"
                    "  return (y, hn, cn, y0, hn0, cn0)\n",
                    {floatInput(c.batchFirst ? std::vector<int64_t>{3, 4, 5} : std::vector<int64_t>{4, 2, 5}),
                     floatInput({states, c.batchFirst ? 3 : 2, 6}), floatInput({states, c.batchFirst ? 3 : 2, 6})},
                    opts(14, 1e-5, {"LSTM"}), p.parameters);
  }
}

TEST(RecurrentConverters, GruLayers) {
  for (bool bidirectional : {false, true}) {
    const auto p = stackParameters(3, 5, 6, 2, bidirectional, true);
    const auto noBias = stackParameters(3, 5, 6, 1, bidirectional, false);
    TestParameters parameters = p.parameters;
    for (auto& [n, t] : noBias.parameters) parameters.push_back({"nb_" + n, t});
    std::string noBiasList = noBias.list;
    for (size_t at = 0; (at = noBiasList.find("self.", at)) != std::string::npos; at += 8) noBiasList.replace(at, 5, "self.nb_");
    const int64_t d = bidirectional ? 2 : 1;
    expectOpMatches("gru_" + flag(bidirectional),
                    "def forward(self, x, h):\n"
                    "  y, hn = torch.gru(x, h, " + p.list + ", True, 2, 0.0, False, " + flag(bidirectional) + ", False)\n"
                    "  z = torch.zeros([" + std::to_string(d) + ", 3, 6])\n"
                    "  y1, hn1 = torch.gru(x.transpose(0, 1), z, " + noBiasList + ", False, 1, 0.0, False, " +
                        flag(bidirectional) + ", True)\n"
                    "  return (y, hn, y1, hn1)\n",
                    {floatInput({4, 3, 5}), floatInput({2 * d, 3, 6})}, opts(14, 1e-5, {"GRU"}), parameters);
  }
}

TEST(RecurrentConverters, RnnTanhAndReluLayers) {
  for (const std::string op : {"rnn_tanh", "rnn_relu"}) {
    const auto p = stackParameters(1, 5, 6, 2, true, true);
    expectOpMatches(op,
                    "def forward(self, x, h):\n"
                    "  y, hn = torch." + op + "(x, h, " + p.list + ", True, 2, 0.0, False, True, True)\n"
                    "  return (y, hn)\n",
                    {floatInput({3, 4, 5}), floatInput({4, 3, 6})}, opts(11, 1e-5, {"RNN"}), p.parameters);
  }
}

// --dynamic-batch: the zero states are sized from x at run time, as nn.LSTM makes them.
TEST(RecurrentConverters, LstmAndGruWithDynamicBatch) {
  const auto lstm = stackParameters(4, 5, 6, 2, true, true);
  expectOpMatches("lstm_dynamic_batch",
                  "def forward(self, x):\n"
                  "  z = torch.zeros([4, x.size(0), 6])\n"
                  "  y, hn, cn = torch.lstm(x, [z, z], " + lstm.list + ", True, 2, 0.0, False, True, True)\n"
                  "  return (y, hn, cn)\n",
                  {floatInput({2, 4, 5})}, withDynamicBatch(opts(14, 1e-5, {"LSTM"}), 3), lstm.parameters);
  const auto gru = stackParameters(3, 5, 6, 1, false, true);
  expectOpMatches("gru_dynamic_batch",
                  "def forward(self, x, h):\n"
                  "  y, hn = torch.gru(x, h.transpose(0, 1), " + gru.list + ", True, 1, 0.0, False, False, True)\n"
                  "  return (y, hn)\n",
                  {floatInput({2, 4, 5}), floatInput({2, 1, 6})}, withDynamicBatch(opts(14, 1e-5, {"GRU"}), 3),
                  gru.parameters);
}

TEST(RecurrentConverters, Cells) {
  TestParameters parameters;
  for (auto& [n, t] : stackParameters(4, 5, 6, 1, false, true).parameters) parameters.push_back({"lstm_" + n, t});
  for (auto& [n, t] : stackParameters(3, 5, 6, 1, false, true).parameters) parameters.push_back({"gru_" + n, t});
  for (auto& [n, t] : stackParameters(1, 5, 6, 1, false, true).parameters) parameters.push_back({"rnn_" + n, t});
  expectOpMatches("recurrent_cells",
                  "def forward(self, x, h, c):\n"
                  "  h1, c1 = torch.lstm_cell(x, [h, c], self.lstm_weight_ih_l0, self.lstm_weight_hh_l0,\n"
                  "      self.lstm_bias_ih_l0, self.lstm_bias_hh_l0)\n"
                  "  h2, c2 = torch.lstm_cell(x, [h1, c1], self.lstm_weight_ih_l0, self.lstm_weight_hh_l0)\n"
                  "  g1 = torch.gru_cell(x, h, self.gru_weight_ih_l0, self.gru_weight_hh_l0,\n"
                  "      self.gru_bias_ih_l0, self.gru_bias_hh_l0)\n"
                  "  g2 = torch.gru_cell(x, g1, self.gru_weight_ih_l0, self.gru_weight_hh_l0)\n"
                  "  r1 = torch.rnn_tanh_cell(x, h, self.rnn_weight_ih_l0, self.rnn_weight_hh_l0,\n"
                  "      self.rnn_bias_ih_l0, self.rnn_bias_hh_l0)\n"
                  "  r2 = torch.rnn_relu_cell(x, r1, self.rnn_weight_ih_l0, self.rnn_weight_hh_l0,\n"
                  "      self.rnn_bias_ih_l0, self.rnn_bias_hh_l0)\n"
                  "  return (h1, c1, h2, c2, g1, g2, r1, r2)\n",
                  {floatInput({3, 5}), floatInput({3, 6}), floatInput({3, 6})},
                  opts(14, 1e-5, {"LSTM", "GRU", "RNN"}), parameters);
}

// LSTM's proj_size has no place in ONNX's LSTM: an error saying so.
TEST(RecurrentConverters, LstmWithProjectionIsRefused) {
  const std::string error = exportError(
      "lstm_proj",
      "def forward(self, x):\n"
      "  w_ih = torch.ones([12, 5])\n"
      "  w_hh = torch.ones([12, 2])\n"
      "  w_hr = torch.ones([2, 3])\n"
      "  z = torch.zeros([1, 2, 2])\n"
      "  c = torch.zeros([1, 2, 3])\n"
      "  y, hn, cn = torch.lstm(x, [z, c], [w_ih, w_hh, w_hr], False, 1, 0.0, False, False, False)\n"
      "  return y\n",
      {floatInput({4, 2, 5})}, 14);
  EXPECT_NE(error.find("proj_size"), std::string::npos) << error;
}

}  // namespace
}  // namespace modelexport::testing
