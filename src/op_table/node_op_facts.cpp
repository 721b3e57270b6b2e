#include "modelexport/node_op_facts.h"

namespace modelexport {

std::string overloadOf(const torch::jit::Node* node) {
  const c10::FunctionSchema* schema = node->maybeSchema();
  return schema ? schema->overload_name() : std::string();
}

const OpFacts* opFacts(const OpFactsTable& ops, const torch::jit::Node* node) {
  return ops.find(node->kind().toQualString(), overloadOf(node));
}

const OpFacts& opFactsOrNone(const OpFactsTable& ops, const torch::jit::Node* node) {
  static const OpFacts none;
  const OpFacts* facts = opFacts(ops, node);
  return facts ? *facts : none;
}

}  // namespace modelexport
