// The tagging core in process: module tree tags and call resolution, trace tags on an
// inlined TorchScript graph, projection of untagged ONNX nodes, node names.
#include <gtest/gtest.h>
#include <torch/csrc/jit/passes/inliner.h>
#include <torch/script.h>

#include "modelexport/convert_context.h"
#include "modelexport/hierarchy_tags.h"
#include "modelexport/module_tree.h"
#include "modelexport/tag_projection.h"
#include "modelexport/torch_export_loader.h"
#include "modelexport/torchscript_module_tree.h"

namespace modelexport {
namespace {

ModuleInfo module(const std::string& name, const std::string& className, int parent, bool hasForward = true) {
  ModuleInfo m;
  m.name = name;
  m.className = className;
  m.qualifiedClass = "test." + className;
  m.typeName = className;
  m.parent = parent;
  m.hasForward = hasForward;
  return m;
}

// Paths follow the parents; the caller lists parents first.
ModuleTree tree(std::vector<ModuleInfo> modules) {
  for (size_t i = 1; i < modules.size(); ++i) {
    const std::string& parentPath = modules[static_cast<size_t>(modules[i].parent)].path;
    modules[i].path = parentPath.empty() ? modules[i].name : parentPath + "." + modules[i].name;
  }
  return ModuleTree(std::move(modules));
}

// 0 Net
// 1   encoder: Encoder
// 2     layer: ModuleList (no forward)
// 3       0: Layer
// 4       1: Layer
// 5     norm: LayerNorm
// 6   head: Sequential
// 7     0: Linear
// 8     1: ReLU
// 9   left: Linear
// 10  right: Linear
ModuleTree netTree() {
  return tree({module("", "Net", -1), module("encoder", "Encoder", 0), module("layer", "ModuleList", 1, false),
               module("0", "Layer", 2), module("1", "Layer", 2), module("norm", "LayerNorm", 1),
               module("head", "Sequential", 0), module("0", "Linear", 6), module("1", "ReLU", 6),
               module("left", "Linear", 0), module("right", "Linear", 0)});
}

TEST(ModuleTreeTags, SegmentsByClassWithKeysWhereNeeded) {
  const ModuleTree t = netTree();
  EXPECT_EQ(t.at(0).tag, "/Net");
  EXPECT_EQ(t.at(1).tag, "/Net/Encoder");
  EXPECT_EQ(t.at(2).tag, "");  // a container without forward gets no segment
  EXPECT_EQ(t.at(3).tag, "/Net/Encoder/Layer.0");
  EXPECT_EQ(t.at(4).tag, "/Net/Encoder/Layer.1");
  EXPECT_EQ(t.at(5).tag, "/Net/Encoder/LayerNorm");  // only child of its class: no key
  EXPECT_EQ(t.at(6).tag, "/Net/Sequential");
  EXPECT_EQ(t.at(7).tag, "/Net/Sequential/Linear.0");  // Sequential children keep their key
  EXPECT_EQ(t.at(8).tag, "/Net/Sequential/ReLU.1");
  EXPECT_EQ(t.at(9).tag, "/Net/Linear.left");  // same-class siblings
  EXPECT_EQ(t.at(10).tag, "/Net/Linear.right");
}

TEST(ModuleTreeTags, ContainerElementsOfTwoContainersKeepTheirWholeKey) {
  const ModuleTree t = tree({module("", "Net", -1), module("a", "ModuleList", 0, false), module("0", "Block", 1),
                             module("b", "ModuleList", 0, false), module("0", "Block", 3)});
  EXPECT_EQ(t.at(2).tag, "/Net/Block.a.0");
  EXPECT_EQ(t.at(4).tag, "/Net/Block.b.0");
}

TEST(ModuleTreeResolveCall, DirectChildByNameAndType) {
  const ModuleTree t = netTree();
  EXPECT_EQ(t.resolveCall(0, "encoder", "Encoder"), 1);
  EXPECT_EQ(t.resolveCall(0, "left", "Linear"), 9);
  EXPECT_EQ(t.resolveCall(0, "right", ""), 10);  // no type: any
}

TEST(ModuleTreeResolveCall, ThroughContainersWithoutForward) {
  const ModuleTree t = netTree();
  // Inlining keeps "1", not "layer.1".
  EXPECT_EQ(t.resolveCall(1, "1", "Layer"), 4);
  EXPECT_EQ(t.resolveCall(1, "0", "Layer"), 3);
}

TEST(ModuleTreeResolveCall, SequentialChildrenByKey) {
  const ModuleTree t = netTree();
  EXPECT_EQ(t.resolveCall(6, "0", "Linear"), 7);
  EXPECT_EQ(t.resolveCall(6, "1", "ReLU"), 8);
}

TEST(ModuleTreeResolveCall, SelfStaysAndUnknownStaysInTheCaller) {
  const ModuleTree t = netTree();
  EXPECT_EQ(t.resolveCall(5, "SELF", "LayerNorm"), 5);
  EXPECT_EQ(t.resolveCall(1, "missing", "Layer"), 1);
}

TEST(ModuleTreeResolveCall, TypeDecidesBetweenSameNamesAndANameMatchIsTheFallback) {
  // "0" under the container is a Layer; "0" reached from the Sequential is a Linear.
  const ModuleTree t = netTree();
  EXPECT_EQ(t.resolveCall(1, "0", "Linear"), 1);  // no Linear named 0 below the encoder
  EXPECT_EQ(t.resolveCall(6, "0", "Renamed.Linear"), 7);  // a type re-created on load: by name
}

TEST(ModuleTreeAncestors, CommonAncestorAndChainSkipContainers) {
  const ModuleTree t = netTree();
  EXPECT_EQ(t.commonAncestor(3, 4), 1);  // via the container to the tagged encoder
  EXPECT_EQ(t.commonAncestor(3, 9), 0);
  EXPECT_EQ(t.taggedAncestor(2), 1);
  EXPECT_EQ(t.taggedChain(3), (std::vector<int>{0, 1, 3}));
}

// Root with two children of one class (the second a clone: its own instance of the
// type), and a Leaf inside a holder that has no forward. Module::define calls a
// submodule as self.NAME.forward(...): its resolver has no __call__ for modules.
torch::jit::Module scriptedNet() {
  torch::jit::Module a("Block"), leaf("Leaf"), holder("Holder"), root("Root");
  a.define("def forward(self, x):\n  return torch.relu(x) * 2.0\n");
  leaf.define("def forward(self, x):\n  return torch.neg(x)\n");
  holder.register_module("deep", leaf);
  root.register_module("a", a);
  root.register_module("b", a.clone());
  root.register_module("stack", holder);
  root.define("def forward(self, x):\n  return torch.tanh(self.stack.deep.forward(self.b.forward(self.a.forward(x))) + x)\n");
  return root;
}

std::vector<const torch::jit::Node*> nodesOf(const torch::jit::Graph& graph, const char* kind) {
  std::vector<const torch::jit::Node*> found;
  for (const auto* node : graph.nodes())
    if (node->kind().toQualString() == std::string(kind)) found.push_back(node);
  return found;
}

const torch::jit::Node* onlyNode(const torch::jit::Graph& graph, const char* kind) {
  const torch::jit::Node* found = nullptr;
  for (const auto* node : graph.nodes()) {
    if (node->kind().toQualString() != std::string(kind)) continue;
    EXPECT_EQ(found, nullptr) << "two " << kind;
    found = node;
  }
  EXPECT_NE(found, nullptr) << "no " << kind;
  return found;
}

TEST(TraceTags, InnermostModuleOfTheCallstackOrTheRootOrProjection) {
  torch::jit::Module root = scriptedNet();
  const ModuleTree t = torchscriptModuleTree(root);
  auto graph = root.get_method("forward").graph()->copy();
  torch::jit::Inline(*graph);
  const auto tags = traceTags(*graph, t, defaultConverters().opFacts());
  using Tag = std::pair<std::string, std::string>;
  auto tagOf = [&](const torch::jit::Node* node) {
    const auto& tag = tags.at(node);
    return Tag(tag.module < 0 ? std::string("-") : t.at(tag.module).tag, tagMethodName(tag.method));
  };
  const auto relus = nodesOf(*graph, "aten::relu"), muls = nodesOf(*graph, "aten::mul");
  ASSERT_EQ(relus.size(), 2u);
  ASSERT_EQ(muls.size(), 2u);
  EXPECT_EQ(tagOf(relus[0]), Tag("/Root/Block.a", "trace"));  // same-class siblings by name
  EXPECT_EQ(tagOf(muls[0]), Tag("/Root/Block.a", "trace"));
  EXPECT_EQ(tagOf(relus[1]), Tag("/Root/Block.b", "trace"));
  EXPECT_EQ(tagOf(muls[1]), Tag("/Root/Block.b", "trace"));
  EXPECT_EQ(tagOf(onlyNode(*graph, "aten::neg")), Tag("/Root/Leaf.deep", "trace"));  // through the holder
  EXPECT_EQ(tagOf(onlyNode(*graph, "aten::add")), Tag("/Root", "trace"));            // the root's own forward
  EXPECT_EQ(tagOf(onlyNode(*graph, "aten::tanh")), Tag("/Root", "trace"));
  // The add's alpha constant: no callstack, auxiliary: projected later.
  EXPECT_EQ(tagOf(onlyNode(*graph, "aten::add")->input(2)->node()), Tag("-", "project"));
}

TEST(TraceTags, RecordedModulesWinAndContainersGoToTheirTaggedParent) {
  torch::jit::Module root = scriptedNet();
  const ModuleTree t = torchscriptModuleTree(root);
  auto graph = root.get_method("forward").graph()->copy();
  torch::jit::Inline(*graph);
  const int holder = *t.findByPath("stack");
  const int b = *t.findByPath("b");
  const torch::jit::Node* firstRelu = nodesOf(*graph, "aten::relu").at(0);
  std::unordered_map<const torch::jit::Node*, int> recorded{{firstRelu, b}, {onlyNode(*graph, "aten::neg"), holder}};
  const auto tags = traceTags(*graph, t, defaultConverters().opFacts(), &recorded);
  EXPECT_EQ(tags.at(firstRelu).module, b);
  EXPECT_EQ(tags.at(onlyNode(*graph, "aten::neg")).module, 0);  // the holder has no tag
  // Not recorded: no callstack is read; a real op belongs to the root.
  EXPECT_EQ(tags.at(onlyNode(*graph, "aten::tanh")).module, 0);
  EXPECT_EQ(tags.at(nodesOf(*graph, "aten::relu").at(1)).module, 0);
}

EmittedNode emitted(const std::string& opType, std::vector<std::string> inputs, std::vector<std::string> outputs,
                    int module) {
  EmittedNode node;
  node.proto.set_op_type(opType);
  for (const auto& in : inputs) node.proto.add_input(in);
  for (const auto& out : outputs) node.proto.add_output(out);
  node.tag = NodeTag{module, module < 0 ? TagMethod::Project : TagMethod::Trace};
  return node;
}

TEST(ProjectTags, OneConsumerGivesItsModule) {
  const ModuleTree t = netTree();
  std::vector<EmittedNode> nodes{emitted("Shape", {"x"}, {"s"}, -1), emitted("Cast", {"s"}, {"c"}, -1),
                                 emitted("Reshape", {"x", "c"}, {"y"}, 3)};
  projectTags(nodes, t, {"y"});
  EXPECT_EQ(nodes[0].tag.module, 3);  // through the Cast, itself projected first
  EXPECT_EQ(nodes[1].tag.module, 3);
  EXPECT_EQ(nodes[1].tag.method, TagMethod::Project);
  EXPECT_TRUE(nodes[1].projectedFrom.empty());
  EXPECT_EQ(nodes[2].tag.method, TagMethod::Trace);  // traced nodes keep theirs
  const HierarchyStamp stamp = stampFor(nodes[1], t);
  EXPECT_EQ(stamp.path, "/Net/Encoder/Layer.0");
  EXPECT_EQ(stamp.tags, std::vector<std::string>{"/Net/Encoder/Layer.0"});
  EXPECT_EQ(stamp.method, "project");
  EXPECT_EQ(stamp.module, "encoder.layer.0");
}

TEST(ProjectTags, DisagreeingConsumersGiveTheNearestCommonAncestorAndAllTags) {
  const ModuleTree t = netTree();
  std::vector<EmittedNode> nodes{emitted("Constant", {}, {"k"}, -1), emitted("Mul", {"a", "k"}, {"m"}, 3),
                                 emitted("Mul", {"b", "k"}, {"n"}, 4), emitted("Add", {"m", "n"}, {"y"}, 5)};
  projectTags(nodes, t, {"y"});
  EXPECT_EQ(nodes[0].tag.module, 1);  // Layer.0 and Layer.1 meet in the encoder
  EXPECT_EQ(nodes[0].projectedFrom, (std::vector<int>{3, 4}));
  const HierarchyStamp stamp = stampFor(nodes[0], t);
  EXPECT_EQ(stamp.path, "/Net/Encoder");
  EXPECT_EQ(stamp.tags, (std::vector<std::string>{"/Net/Encoder", "/Net/Encoder/Layer.0", "/Net/Encoder/Layer.1"}));
  EXPECT_EQ(stamp.scopeModules, (std::vector<std::string>{"", "encoder"}));
}

TEST(ProjectTags, AGraphOutputCountsAsTheRoot) {
  const ModuleTree t = netTree();
  std::vector<EmittedNode> nodes{emitted("Identity", {"x"}, {"out"}, -1), emitted("Relu", {"out"}, {"r"}, 8),
                                 emitted("Cast", {"x"}, {"unused"}, -1)};
  projectTags(nodes, t, {"out", "r"});
  EXPECT_EQ(nodes[0].tag.module, 0);
  EXPECT_EQ(nodes[0].projectedFrom, (std::vector<int>{0, 8}));
  EXPECT_EQ(nodes[2].tag.module, 0);  // no consumer at all: the root
}

TEST(NodeNames, TagSlashOpTypeUniqueWithSuffixes) {
  const ModuleTree t = netTree();
  std::vector<EmittedNode> nodes{emitted("Add", {}, {"a"}, 3), emitted("Add", {}, {"b"}, 3),
                                 emitted("Mul", {}, {"c"}, 3), emitted("Add", {}, {"d"}, 4),
                                 emitted("Add", {}, {"e"}, 3)};
  nameNodesByTag(nodes, t);
  EXPECT_EQ(nodes[0].proto.name(), "/Net/Encoder/Layer.0/Add");
  EXPECT_EQ(nodes[1].proto.name(), "/Net/Encoder/Layer.0/Add_1");
  EXPECT_EQ(nodes[2].proto.name(), "/Net/Encoder/Layer.0/Mul");
  EXPECT_EQ(nodes[3].proto.name(), "/Net/Encoder/Layer.1/Add");
  EXPECT_EQ(nodes[4].proto.name(), "/Net/Encoder/Layer.0/Add_2");
}

// A .pt2's nn_module_stack frames, outermost first; torch's metadata-hook marker (a node
// made by a pass from an input) is no module.
TEST(ModuleStack, FramesAndTheMetadataHookMarker) {
  const auto frames = parseModuleStack("L__self__,,__main__.M;L__self___layers_0,layers.0,__main__.Block");
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[1], (std::pair<std::string, std::string>{"layers.0", "__main__.Block"}));
  const std::string marker = "_empty_nn_module_stack_from_metadata_hook";
  EXPECT_TRUE(parseModuleStack(marker + "," + marker + "," + marker).empty());
  EXPECT_EQ(parseModuleStack("L__self__,,__main__.M;" + marker + "," + marker + "," + marker).size(), 1u);
}

}  // namespace
}  // namespace modelexport
