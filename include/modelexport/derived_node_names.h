#pragma once
// Optimizers name the nodes they make after the nodes they replace: onnxruntime's
// MatMulAddFusion "<node>/MatMulAddFusion", FusedGemm "fused <node>", a reshape it adds
// "<node>_new_reshape"; its NCHWc transformer names a node after the tensor the replaced
// nodes produced ("<tensor>_nchwc"). profile and restamp find the original node through
// that name.
#include <optional>
#include <string>
#include <unordered_map>

namespace modelexport {

// The value of the longest key of `byName` (node names, or tensor names mapped to their
// producers) that `name` equals or extends at a '/' or '_' (after dropping a leading
// "fused "); nullopt when there is none.
std::optional<int> findNodeByDerivedName(const std::string& name, const std::unordered_map<std::string, int>& byName);
// The key itself.
std::optional<std::string> longestDerivedKey(const std::string& name,
                                             const std::unordered_map<std::string, int>& byName);

}  // namespace modelexport
