// How far apart two names are, for "did you mean" suggestions.
#pragma once

#include <cstddef>
#include <string_view>

namespace keymux::config {

// Optimal string alignment: insertions, deletions, substitutions and swaps of
// two neighbours each cost 1, so "rmp" is one step from "rpm".
std::size_t edit_distance(std::string_view a, std::string_view b);

// Whether `candidate` is close enough to `given` to be suggested for it.
bool close_name(std::string_view given, std::string_view candidate);

}  // namespace keymux::config
