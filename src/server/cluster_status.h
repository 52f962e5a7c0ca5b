// The status of this node and its group for one store: one place that the gRPC Cluster service,
// the HTTP /cluster page and metrics all read from.
#pragma once

#include <string>

#include "reckon/v1/reckon.pb.h"
#include "server/config.h"
#include "server/served_store.h"

namespace reckon::server {

v1::ClusterStatus cluster_status(const ServerConfig& config, ServedStore& store,
                                 const std::string& grpc_address);

}  // namespace reckon::server
