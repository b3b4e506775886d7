// The real Spawner: Boost.Process v2's vfork launcher. The only file of the
// launcher that includes Boost.Process is process_spawner.cc.
#ifndef FCGI_RUN_LAUNCHER_RUN_PROCESS_SPAWNER_H_
#define FCGI_RUN_LAUNCHER_RUN_PROCESS_SPAWNER_H_

#include <memory>

#include "launcher/run/spawner.h"

namespace fcgi {

std::unique_ptr<Spawner> MakeProcessSpawner();

}  // namespace fcgi

#endif  // FCGI_RUN_LAUNCHER_RUN_PROCESS_SPAWNER_H_
