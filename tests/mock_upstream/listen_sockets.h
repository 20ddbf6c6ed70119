// One listening TCP socket per worker thread, all on the same address with
// SO_REUSEPORT: the kernel spreads new connections across the threads, with
// no shared accept queue and no hand-off between threads.
#pragma once

#include <string>
#include <vector>

namespace keymux::mock {

struct ListenSockets {
  std::vector<int> fds;
  std::string bound_address;  // "127.0.0.1:41234", with the real port
};

// `spec` is "HOST:PORT" or "[V6]:PORT"; port 0 picks a free one, which the
// other sockets then join. False with `error` set on failure (nothing left open).
bool open_listen_sockets(const std::string& spec, int count, ListenSockets& out,
                         std::string& error);

}  // namespace keymux::mock
