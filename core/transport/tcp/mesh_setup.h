// Internal to the transport: turning rendezvous information into one authenticated
// socket per peer. Runs on the calling thread, on the mesh's io_context, before the
// mesh's progress engine starts.
#pragma once

#include <optional>
#include <vector>

#include "core/transport/mesh.h"
#include "core/transport/tcp/asio.h"
#include "core/transport/tcp/control_io.h"

namespace syncbed::net {

struct EstablishedMesh {
  std::vector<Endpoint> table;                      // every rank's listening endpoint
  std::vector<std::optional<tcp::socket>> sockets;  // by rank; empty at our own rank
};

EstablishedMesh establish_mesh(asio::io_context& io, const RendezvousInfo& info, const MeshOptions& options);

}  // namespace syncbed::net
