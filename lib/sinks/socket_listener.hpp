// The listening socket behind the events socket: the one systemd passes
// (socket activation), or socket.path created with socket.mode. Plain
// POSIX, run once at start-up before the event loop.
#pragma once

#include <sys/types.h>

#include <string>

#include "config/config.hpp"
#include "core/error.hpp"

namespace hssjw {

struct listen_socket {
  int fd = -1;
  bool activated = false;  // passed by systemd: never unlink or chmod it
  std::string path;        // what we created (empty when activated)
  dev_t dev = 0;           // identity of the file we created, so that
  ino_t ino = 0;           // shutdown never unlinks another daemon's socket
};

// Uses fd 3 when systemd passed a socket (sd_listen_fds), else creates
// socket.path: the parent directory is created if missing; a socket file
// nobody answers on (left by a crash) is replaced; a live one, or a path
// that is not a socket, is refused with a message naming it (and the
// errno behind it, when there is one, as the code).
result<listen_socket> open_listen_socket(const config::socket_config& cfg);

// Removes the socket file if it is still the one we created.
void remove_socket_file(const listen_socket& s);

}  // namespace hssjw
