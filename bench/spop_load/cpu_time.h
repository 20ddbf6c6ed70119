// CPU time consumed so far, for "CPU per decision" figures.
#pragma once

#include <cstdint>
#include <optional>

namespace keymux::bench {

// This process, every thread, user + system, in ns.
std::uint64_t own_cpu_ns();

// Another process (user + system of all its threads, from /proc/PID/stat), in
// ns at clock-tick resolution; nullopt if it cannot be read.
std::optional<std::uint64_t> process_cpu_ns(int pid);

}  // namespace keymux::bench
