# Fails when a file of a lower layer includes a header of a higher one.
# Layers, lowest first: base, rules, pipeline, connectors, cmd. The link
# rules say the same (earshot_rules links earshot_base, earshot_pipeline
# earshot_rules, earshot_connectors earshot_pipeline, and never the reverse),
# but headers are found from the source root, so an #include that crosses
# upwards would compile; this check is what stops it.
# Usage: cmake -DSOURCE_DIR=<root> -P check_layering.cmake
set(layers base rules pipeline connectors cmd)
set(violations "")
list(LENGTH layers n)
math(EXPR last "${n} - 1")
foreach(i RANGE ${last})
  list(GET layers ${i} layer)
  set(higher "")
  math(EXPR next "${i} + 1")
  if(next LESS_EQUAL last)
    foreach(j RANGE ${next} ${last})
      list(GET layers ${j} h)
      list(APPEND higher ${h})
    endforeach()
  endif()
  if(NOT higher)
    continue()
  endif()
  string(REPLACE ";" "|" alt "${higher}")
  file(GLOB_RECURSE files "${SOURCE_DIR}/${layer}/*.h" "${SOURCE_DIR}/${layer}/*.cc")
  foreach(f IN LISTS files)
    file(STRINGS "${f}" lines REGEX "^[ \t]*#[ \t]*include[ \t]*\"(${alt})/")
    foreach(l IN LISTS lines)
      file(RELATIVE_PATH rel "${SOURCE_DIR}" "${f}")
      string(APPEND violations "${rel}: ${l}\n")
    endforeach()
  endforeach()
endforeach()
if(violations)
  message(FATAL_ERROR "includes that cross a layer upwards (base < rules < pipeline < connectors < cmd):\n${violations}")
endif()
message(STATUS "layering: no upward includes")
