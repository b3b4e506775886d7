# fcgi_copy_scripts(TARGET OUT_DIR SCRIPT...): a custom target TARGET that
# copies each SCRIPT (relative to the calling directory's sources) into OUT_DIR
# with mode 0755, rebuilt when a script changes. Used by the examples and the
# e2e test programs, whose scripts must be executable in the build tree.
include_guard(GLOBAL)

function(fcgi_copy_scripts target out_dir)
  set(outputs)
  foreach(script IN LISTS ARGN)
    set(out ${out_dir}/${script})
    add_custom_command(
      OUTPUT ${out}
      COMMAND ${CMAKE_COMMAND} -E copy ${CMAKE_CURRENT_SOURCE_DIR}/${script} ${out}
      COMMAND chmod 0755 ${out}
      DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/${script}
      COMMENT "Copying ${script}"
      VERBATIM)
    list(APPEND outputs ${out})
  endforeach()
  add_custom_target(${target} DEPENDS ${outputs})
endfunction()
