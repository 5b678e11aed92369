# `cmake --install`: the headers, the three libraries and a CMake package, so another
# project can find_package(syncbed) and link syncbed::core, syncbed::sync, syncbed::models
# (examples/ is such a project).
include(CMakePackageConfigHelpers)

set(package_dir ${CMAKE_INSTALL_LIBDIR}/cmake/syncbed)
foreach(library core sync models)
  set_target_properties(syncbed_${library} PROPERTIES EXPORT_NAME ${library})
endforeach()
install(TARGETS syncbed_core syncbed_sync syncbed_models EXPORT syncbedTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
# Includes stay rooted as in the repository: #include "core/transport/mesh.h".
install(DIRECTORY core sync models DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/syncbed FILES_MATCHING PATTERN "*.h")
install(EXPORT syncbedTargets NAMESPACE syncbed:: DESTINATION ${package_dir})
configure_package_config_file(cmake/syncbedConfig.cmake.in ${PROJECT_BINARY_DIR}/syncbedConfig.cmake
                              INSTALL_DESTINATION ${package_dir})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/syncbedConfigVersion.cmake COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/syncbedConfig.cmake ${PROJECT_BINARY_DIR}/syncbedConfigVersion.cmake
        DESTINATION ${package_dir})
