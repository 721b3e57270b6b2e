// Recurrent layers: aten::lstm / gru / rnn_tanh / rnn_relu (what nn.LSTM, nn.GRU and
// nn.RNN trace into) as one ONNX LSTM / GRU / RNN node per layer, and the single-step
// cells (nn.LSTMCell, nn.GRUCell, nn.RNNCell) as the same nodes over a sequence of one.
#include <string>
#include <vector>

#include "modelexport/convert_context.h"
#include "modelexport/converter_helpers.h"

namespace modelexport {
namespace {

using torch::jit::Value;

// What differs between the three ONNX recurrent ops.
struct RecurrentKind {
  const char* onnxOp;
  int64_t gates;
  // ONNX's gate order as indices of PyTorch's chunks: PyTorch packs LSTM gates i,f,g,o
  // and ONNX i,o,f,c; GRU r,z,n against ONNX z,r,h.
  std::vector<int64_t> gateOrder;
  const char* activation;  // RNN's nonlinearity; nullptr for LSTM/GRU (ONNX's defaults match)
};

const RecurrentKind kLstm{"LSTM", 4, {0, 3, 1, 2}, nullptr};
const RecurrentKind kGru{"GRU", 3, {1, 0, 2}, nullptr};
const RecurrentKind kRnnTanh{"RNN", 1, {0}, "Tanh"};
const RecurrentKind kRnnRelu{"RNN", 1, {0}, "Relu"};

bool isLstm(const RecurrentKind& kind) { return kind.gates == 4; }

// A packed weight or bias ([gates*H, ...]) with its gate blocks in ONNX's order.
at::Tensor reorderGates(const at::Tensor& packed, const RecurrentKind& kind) {
  std::vector<at::Tensor> chunks = packed.chunk(kind.gates, 0);
  std::vector<at::Tensor> ordered;
  for (int64_t g : kind.gateOrder) ordered.push_back(chunks[static_cast<size_t>(g)]);
  return at::cat(ordered, 0);
}

// One direction's parameters as PyTorch holds them: w_ih [G*H, I], w_hh [G*H, H] and
// the optional biases b_ih, b_hh [G*H].
struct DirectionWeights {
  at::Tensor wIh, wHh, bIh, bHh;
};

// An element of a tensor list argument: a value of the ListConstruct, or a tensor of a
// list known as a whole at export time (the graph's preparation folds lists of parameters).
struct ListItem {
  const Value* value = nullptr;
  at::Tensor tensor;
};

std::vector<ListItem> tensorList(ConvertContext& ctx, const Value* list) {
  std::vector<ListItem> items;
  if (auto elements = ctx.listElements(list)) {
    for (const Value* v : *elements) items.push_back({v, {}});
  } else if (ctx.isStatic(list) && ctx.staticValue(list).isTensorList()) {
    for (const at::Tensor& t : ctx.staticValue(list).toTensorVector()) items.push_back({nullptr, t});
  } else {
    ctx.unsupported("tensor list '" + list->debugName() + "' built at run time");
  }
  return items;
}

at::Tensor staticWeight(ConvertContext& ctx, const ListItem& item) {
  if (item.tensor.defined()) return item.tensor;
  if (!ctx.isStatic(item.value)) ctx.unsupported("recurrent weights computed at run time (parameters only)");
  return ctx.toTensor(item.value);
}

at::Tensor staticWeight(ConvertContext& ctx, const Value* v) { return staticWeight(ctx, ListItem{v, {}}); }

// ONNX's W [D, G*H, I], R [D, G*H, H] and B [D, 2*G*H] (Wb then Rb) from the
// directions' weights; B is "" without biases (ONNX then takes zeros).
struct OnnxWeights {
  std::string w, r, b;
};

OnnxWeights onnxWeights(ConvertContext& ctx, const std::vector<DirectionWeights>& directions,
                        const RecurrentKind& kind, at::ScalarType type, const std::string& hint) {
  std::vector<at::Tensor> w, r, b;
  for (const auto& d : directions) {
    w.push_back(reorderGates(d.wIh, kind));
    r.push_back(reorderGates(d.wHh, kind));
    if (d.bIh.defined()) b.push_back(at::cat({reorderGates(d.bIh, kind), reorderGates(d.bHh, kind)}, 0));
  }
  OnnxWeights out;
  out.w = ctx.constant(at::stack(w, 0).to(type), hint + ".W");
  out.r = ctx.constant(at::stack(r, 0).to(type), hint + ".R");
  if (!b.empty()) out.b = ctx.constant(at::stack(b, 0).to(type), hint + ".B");
  return out;
}

// One ONNX recurrent node over x [T, B, I] with initial states [D, B, H] ("" for
// zeros). Returns Y [T, D, B, H], Y_h [D, B, H] and, for LSTM, Y_c.
std::vector<std::string> recurrentNode(ConvertContext& ctx, const RecurrentKind& kind, const std::string& x,
                                       const OnnxWeights& weights, const std::string& h0, const std::string& c0,
                                       int64_t hidden, bool bidirectional) {
  std::vector<std::string> ins{x, weights.w, weights.r, weights.b, "", h0};
  if (isLstm(kind)) ins.push_back(c0);
  while (ins.back().empty()) ins.pop_back();
  std::vector<onnx::AttributeProto> attrs{attr::i("hidden_size", hidden)};
  if (bidirectional) attrs.push_back(attr::s("direction", "bidirectional"));
  if (kind.activation) {
    std::vector<std::string> acts(bidirectional ? 2 : 1, kind.activation);
    attrs.push_back(attr::strings("activations", acts));
  }
  // PyTorch applies the reset gate after the hidden state's linear map.
  if (kind.gates == 3) attrs.push_back(attr::i("linear_before_reset", 1));
  return ctx.ops(kind.onnxOp, ins, isLstm(kind) ? 3 : 2, attrs);
}

// An initial state [L*D, B, H] sliced to layer `layer`'s D rows; "" when it is known
// to be zeros (nn.LSTM without hx makes zeros), which ONNX takes by default.
std::string layerState(ConvertContext& ctx, const ListItem& state, int64_t layer, int64_t directions,
                       at::ScalarType type) {
  at::Tensor known = state.tensor;
  if (!known.defined() && state.value && ctx.isStatic(state.value)) known = ctx.toTensor(state.value);
  if (!state.value && !known.defined()) return "";
  if (known.defined() && known.eq(0).all().item<bool>()) return "";
  std::string s = known.defined() ? ctx.constant(known.to(type), "initial_state") : ctx.inputAs(state.value, type);
  if ((known.defined() ? known.size(0) : ctx.dim(state.value, 0)) == directions) return s;
  return ctx.op("Slice", {s, ctx.constInts({layer * directions}), ctx.constInts({(layer + 1) * directions}),
                          ctx.constInts({0})});
}

// aten::lstm.input(input, hx[], params[], has_biases, num_layers, dropout, train,
// bidirectional, batch_first) -> (output, h_n, c_n); gru.input and rnn_*.input take
// one hx tensor and return (output, h_n). params hold, layer by layer and forward
// before reverse, w_ih, w_hh and (with has_biases) b_ih, b_hh.
void recurrentLayers(ConvertContext& ctx, const RecurrentKind& kind) {
  const auto type = ctx.dtype(ctx.out(0));
  const Value* input = ctx.in("input");
  if (ctx.rank(input) != 3) ctx.unsupported("input of rank " + std::to_string(ctx.rank(input)) + " (3-d only)");
  ListItem h0, c0;
  if (isLstm(kind)) {
    auto hx = tensorList(ctx, ctx.in("hx"));
    if (hx.size() != 2) ctx.unsupported("hx that is not a list of (h_0, c_0)");
    h0 = hx[0];
    c0 = hx[1];
  } else if (ctx.given("hx")) {
    h0.value = ctx.in("hx");
  }
  const std::vector<ListItem> params = tensorList(ctx, ctx.in("params"));
  const bool hasBiases = ctx.toBool(ctx.in("has_biases"));
  const int64_t layers = ctx.toInt(ctx.in("num_layers"));
  const double dropout = ctx.toDouble(ctx.in("dropout"));
  const bool train = ctx.toBool(ctx.in("train"));
  const bool bidirectional = ctx.toBool(ctx.in("bidirectional"));
  const bool batchFirst = ctx.toBool(ctx.in("batch_first"));
  if (train && dropout > 0 && layers > 1) ctx.unsupported("dropout between layers in training mode");
  const int64_t directions = bidirectional ? 2 : 1;
  const size_t perDirection = hasBiases ? 4 : 2;
  if (params.size() != perDirection * static_cast<size_t>(layers * directions)) {
    // LSTM's proj_size adds w_hr per direction, which ONNX's LSTM has no place for.
    ctx.unsupported("LSTM with proj_size (" + std::to_string(params.size()) + " parameters for " +
                    std::to_string(layers) + " layers)");
  }

  std::string x = ctx.inputAs(input, type);
  if (batchFirst) x = ctx.op("Transpose", {x}, {attr::ints("perm", {1, 0, 2})});
  std::vector<std::string> finalH, finalC;
  int64_t hidden = 0;
  size_t p = 0;
  for (int64_t layer = 0; layer < layers; ++layer) {
    std::vector<DirectionWeights> weights;
    for (int64_t d = 0; d < directions; ++d) {
      DirectionWeights w;
      w.wIh = staticWeight(ctx, params[p]);
      w.wHh = staticWeight(ctx, params[p + 1]);
      if (hasBiases) {
        w.bIh = staticWeight(ctx, params[p + 2]);
        w.bHh = staticWeight(ctx, params[p + 3]);
      }
      p += perDirection;
      weights.push_back(w);
    }
    hidden = weights[0].wHh.size(1);
    const ListItem& first = params[p - perDirection];
    const std::string hint = ctx.nameHint(first.value ? first.value : ctx.in("params"));
    auto outs = recurrentNode(ctx, kind, x, onnxWeights(ctx, weights, kind, type, hint),
                              layerState(ctx, h0, layer, directions, type),
                              layerState(ctx, c0, layer, directions, type), hidden, bidirectional);
    // Y [T, D, B, H] -> the next layer's input [T, B, D*H]; 0 keeps T and B as they come.
    if (directions == 1) {
      x = squeeze(ctx, outs[0], {1});
    } else {
      x = ctx.op("Transpose", {outs[0]}, {attr::ints("perm", {0, 2, 1, 3})});
      x = ctx.op("Reshape", {x, ctx.constInts({0, 0, directions * hidden})});
    }
    finalH.push_back(outs[1]);
    if (isLstm(kind)) finalC.push_back(outs[2]);
  }
  if (batchFirst) x = ctx.op("Transpose", {x}, {attr::ints("perm", {1, 0, 2})});
  ctx.setOutput(x, type, 0);
  auto joined = [&](const std::vector<std::string>& parts) {
    return parts.size() == 1 ? parts[0] : ctx.op("Concat", parts, {attr::i("axis", 0)});
  };
  ctx.setOutput(joined(finalH), type, 1);
  if (isLstm(kind)) ctx.setOutput(joined(finalC), type, 2);
}

// aten::lstm_cell(input, hx[h, c], w_ih, w_hh, b_ih?, b_hh?) -> (h', c'), and
// gru_cell / rnn_*_cell(input, hx, w_ih, w_hh, b_ih?, b_hh?) -> h': one step, as the
// sequence op over [1, B, I].
void recurrentCell(ConvertContext& ctx, const RecurrentKind& kind) {
  const auto type = ctx.dtype(ctx.out(0));
  if (ctx.rank(ctx.in("input")) != 2) ctx.unsupported("input of rank " + std::to_string(ctx.rank(ctx.in("input"))) + " (2-d only)");
  std::vector<ListItem> states;
  if (isLstm(kind)) {
    states = tensorList(ctx, ctx.in("hx"));
    if (states.size() != 2) ctx.unsupported("hx that is not a list of (h, c)");
  } else if (ctx.given("hx")) {
    states = {ListItem{ctx.in("hx"), {}}};
  }
  DirectionWeights w;
  w.wIh = staticWeight(ctx, ctx.in("w_ih"));
  w.wHh = staticWeight(ctx, ctx.in("w_hh"));
  if (ctx.given("b_ih") != ctx.given("b_hh")) ctx.unsupported("only one of b_ih and b_hh");
  if (ctx.given("b_ih")) {
    w.bIh = staticWeight(ctx, ctx.in("b_ih"));
    w.bHh = staticWeight(ctx, ctx.in("b_hh"));
  }
  const int64_t hidden = w.wHh.size(1);
  auto stepState = [&](size_t i) {
    if (i >= states.size()) return std::string();
    const ListItem& state = states[i];
    return unsqueeze(ctx, state.value ? ctx.inputAs(state.value, type) : ctx.constant(state.tensor.to(type), "state"),
                     {0});
  };
  std::string x = unsqueeze(ctx, ctx.inputAs(ctx.in("input"), type), {0});
  auto outs = recurrentNode(ctx, kind, x, onnxWeights(ctx, {w}, kind, type, ctx.nameHint(ctx.in("w_ih"))),
                            stepState(0), stepState(1), hidden, false);
  ctx.setOutput(squeeze(ctx, outs[1], {0}), type, 0);
  if (isLstm(kind)) ctx.setOutput(squeeze(ctx, outs[2], {0}), type, 1);
}

void packedSequence(ConvertContext& ctx) {
  ctx.unsupported("packed sequences (nn.utils.rnn.PackedSequence): pass a padded tensor instead");
}

}  // namespace

void registerRecurrentConverters(ConverterRegistry& r) {
  r.add("aten::lstm.input", [](ConvertContext& ctx) { recurrentLayers(ctx, kLstm); });
  r.add("aten::gru.input", [](ConvertContext& ctx) { recurrentLayers(ctx, kGru); });
  r.add("aten::rnn_tanh.input", [](ConvertContext& ctx) { recurrentLayers(ctx, kRnnTanh); });
  r.add("aten::rnn_relu.input", [](ConvertContext& ctx) { recurrentLayers(ctx, kRnnRelu); });
  for (const char* packed : {"aten::lstm.data", "aten::gru.data", "aten::rnn_tanh.data", "aten::rnn_relu.data"}) {
    r.add(packed, packedSequence);
  }
  r.add("aten::lstm_cell", [](ConvertContext& ctx) { recurrentCell(ctx, kLstm); });
  r.add("aten::gru_cell", [](ConvertContext& ctx) { recurrentCell(ctx, kGru); });
  r.add("aten::rnn_tanh_cell", [](ConvertContext& ctx) { recurrentCell(ctx, kRnnTanh); });
  r.add("aten::rnn_relu_cell", [](ConvertContext& ctx) { recurrentCell(ctx, kRnnRelu); });
}

}  // namespace modelexport
