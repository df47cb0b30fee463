# racebed_scenario(): register one buggy/fixed pair and what every detector
# is expected to report on it. The expectations are the data the test bed
# exists to record; scenarios/CMakeLists.txt is the one place they live.
#
#   racebed_scenario(<name>
#     CLASS <class>           bug class: a ctest label (its lesson is listed in
#                             docs/workshop/index.md)
#     [KIND <kind>]           the report kind that counts as detecting the bug;
#                             required when CLASS is not itself a report kind
#                             (then it defaults to the class)
#     SUMMARY "<one line>"
#     TSAN      "<kinds>[: <reason>]"   what each detector reports on buggy/<name>.c:
#     HELGRIND  "<kinds>[: <reason>]"   comma-separated report kinds, or "none";
#     DRD       "<kinds>[: <reason>]"   a reason is required whenever the kinds do
#     LOCKGRAPH "<kinds>[: <reason>]"   not include KIND (a blind spot)
#     [ASAN     "<kinds>[: <reason>]"]  optional AddressSanitizer column
#     [VARIANTS <v>...]       more fixed twins: fixed/<name>.<v>.c ("fixed.<v>")
#     [FIXED "<variant>/<detector>=<kinds>: <reason>" ...]
#                             reports a fixed twin is known to draw (false
#                             positives); every other fixed cell must be clean
#     [ARGS <arg>...]         arguments for every run
#   )
#
# Each (variant, detector) becomes one ctest test, <name>.<variant>.<detector>,
# labelled with the variant kind (buggy/fixed), the class and the detector,
# and run by cmake/judge.py with a hard time bound.

set(RACEBED_KINDS
  data-race lock-order-inversion self-deadlock deadlock abandoned-lock
  unlock-not-owner unlock-unlocked destroy-locked cond-misuse invalid-mutex
  livelock starvation stall thread-leak use-after-free use-after-scope
  undefined-behaviour signal-unsafe api-error lost-wakeup order-violation
  atomicity-violation oversubscription unchecked-wakeup barrier-misuse)
set(RACEBED_ALL_DETECTORS tsan helgrind drd lockgraph)

# ccache, when it is installed (ci/deps installs it; CI caches its
# directory): a rebuild of unchanged sources comes from the cache.
option(RACEBED_CCACHE "Compile through ccache when it is installed" ON)
if(RACEBED_CCACHE AND NOT CMAKE_C_COMPILER_LAUNCHER)
  find_program(RACEBED_CCACHE_PROGRAM ccache)
  if(RACEBED_CCACHE_PROGRAM)
    set(CMAKE_C_COMPILER_LAUNCHER ${RACEBED_CCACHE_PROGRAM})
  endif()
endif()

# Seconds the judge lets one run take before it kills it; ctest's TIMEOUT
# is 30 s longer so that the judge, not ctest, reports the overrun.
# Measured (the slowest cell of each detector over the 20 runs of
# `./racebed matrix --runs 20 --stress`, 2-core VM at load 12-31, see
# docs/harness.md): native 6.1 s, tsan 7.2 s, asan 0.9 s,
# lockgraph 4.7 s, Helgrind 9.9 s, DRD 9.5 s: each
# bound is 4 times that or more, and a hang is still caught in minutes.
set(RACEBED_TIMEOUT_native 30)
set(RACEBED_TIMEOUT_tsan 60)
set(RACEBED_TIMEOUT_asan 60)
set(RACEBED_TIMEOUT_lockgraph 60)
set(RACEBED_TIMEOUT_helgrind 180)
set(RACEBED_TIMEOUT_drd 180)

# The detectors this build tree can run: Valgrind and lockgraph need plain
# binaries, the sanitizers need their own instrumented build.
if(RACEBED_SANITIZER STREQUAL "thread")
  set(RACEBED_TREE_DETECTORS tsan)
elseif(RACEBED_SANITIZER STREQUAL "address")
  set(RACEBED_TREE_DETECTORS asan)
else()
  set(RACEBED_TREE_DETECTORS native helgrind drd lockgraph)
endif()

# Split "<kinds>[: <reason>]" into a sorted comma list and the reason.
function(_racebed_parse_expect text kinds_out reason_out where)
  string(FIND "${text}" ":" colon)
  if(colon GREATER -1)
    string(SUBSTRING "${text}" 0 ${colon} kinds)
    math(EXPR rstart "${colon} + 1")
    string(SUBSTRING "${text}" ${rstart} -1 reason)
    string(STRIP "${reason}" reason)
    if(reason MATCHES ";")
      message(FATAL_ERROR "${where}: a reason cannot contain ';' (CMake splits lists there): use a comma or a dash")
    endif()
  else()
    set(kinds "${text}")
    set(reason "")
  endif()
  string(STRIP "${kinds}" kinds)
  string(REPLACE "," ";" kinds "${kinds}")
  set(clean "")
  foreach(k IN LISTS kinds)
    string(STRIP "${k}" k)
    if(k STREQUAL "none" OR k STREQUAL "")
      continue()
    endif()
    if(NOT k IN_LIST RACEBED_KINDS)
      message(FATAL_ERROR "${where}: unknown report kind '${k}' (known: ${RACEBED_KINDS})")
    endif()
    list(APPEND clean "${k}")
  endforeach()
  list(SORT clean)
  list(REMOVE_DUPLICATES clean)
  string(REPLACE ";" "," clean "${clean}")
  set(${kinds_out} "${clean}" PARENT_SCOPE)
  set(${reason_out} "${reason}" PARENT_SCOPE)
endfunction()

function(_racebed_json_string text out)
  string(REPLACE "\\" "\\\\" text "${text}")
  string(REPLACE "\"" "\\\"" text "${text}")
  set(${out} "\"${text}\"" PARENT_SCOPE)
endfunction()

function(_racebed_add_program target source outdir outname)
  add_executable(${target} ${source})
  target_link_libraries(${target} PRIVATE rb_support Threads::Threads)
  set_target_properties(${target} PROPERTIES
    OUTPUT_NAME ${outname}
    RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/${outdir})
endfunction()

function(racebed_scenario name)
  set(one CLASS KIND SUMMARY TSAN HELGRIND DRD LOCKGRAPH ASAN)
  cmake_parse_arguments(PARSE_ARGV 1 S "" "${one}" "VARIANTS;FIXED;ARGS")
  set(where "racebed_scenario(${name})")
  if(S_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "${where}: unexpected arguments: ${S_UNPARSED_ARGUMENTS}")
  endif()
  foreach(required CLASS SUMMARY)
    if(NOT DEFINED S_${required})
      message(FATAL_ERROR "${where}: ${required} is required")
    endif()
  endforeach()
  if(NOT DEFINED S_KIND)
    if(NOT S_CLASS IN_LIST RACEBED_KINDS)
      message(FATAL_ERROR "${where}: CLASS '${S_CLASS}' is not a report kind, so say which "
        "report kind detects this bug: add KIND <kind> (for example KIND data-race for a bug "
        "a race detector finds). Report kinds: ${RACEBED_KINDS}")
    endif()
    set(S_KIND "${S_CLASS}")
  elseif(NOT S_KIND IN_LIST RACEBED_KINDS)
    message(FATAL_ERROR "${where}: KIND '${S_KIND}' is not a report kind (known: ${RACEBED_KINDS})")
  endif()
  foreach(src buggy/${name}.c fixed/${name}.c)
    if(NOT EXISTS ${PROJECT_SOURCE_DIR}/${src})
      message(FATAL_ERROR "${where}: ${src} does not exist")
    endif()
  endforeach()

  # Programs: buggy/<name>, fixed/<name>, fixed/<name>.<variant>.
  set(variants buggy fixed)
  _racebed_add_program(buggy.${name} ${PROJECT_SOURCE_DIR}/buggy/${name}.c buggy ${name})
  _racebed_add_program(fixed.${name} ${PROJECT_SOURCE_DIR}/fixed/${name}.c fixed ${name})
  foreach(v IN LISTS S_VARIANTS)
    if(NOT EXISTS ${PROJECT_SOURCE_DIR}/fixed/${name}.${v}.c)
      message(FATAL_ERROR "${where}: variant ${v} needs fixed/${name}.${v}.c")
    endif()
    _racebed_add_program(fixed.${name}.${v} ${PROJECT_SOURCE_DIR}/fixed/${name}.${v}.c
                         fixed ${name}.${v})
    list(APPEND variants fixed.${v})
  endforeach()

  # Expectations: buggy cells from the per-detector keywords, fixed cells
  # clean unless a FIXED entry records a known false positive.
  set(detectors ${RACEBED_ALL_DETECTORS})
  if(DEFINED S_ASAN)
    list(APPEND detectors asan)
  endif()
  foreach(d IN LISTS detectors)
    string(TOUPPER ${d} D)
    if(NOT DEFINED S_${D})
      message(FATAL_ERROR "${where}: ${D} is required: what does ${d} report on buggy/${name}.c?")
    endif()
    _racebed_parse_expect("${S_${D}}" kinds reason "${where} ${D}")
    string(REPLACE "," ";" klist "${kinds}")
    if(NOT S_KIND IN_LIST klist AND reason STREQUAL "")
      message(FATAL_ERROR "${where}: ${D} \"${S_${D}}\" does not include '${S_KIND}', the kind "
        "that detects this bug (KIND, or CLASS when there is no KIND), so it records a blind "
        "spot: say why after a colon, as in ${D} \"none: why ${d} cannot see it\"")
    endif()
    set(expect_buggy_${d} "${kinds}")
    set(reason_buggy_${d} "${reason}")
    foreach(v IN LISTS variants)
      if(NOT v STREQUAL "buggy")
        set(expect_${v}_${d} "")
        set(reason_${v}_${d} "")
      endif()
    endforeach()
  endforeach()
  foreach(entry IN LISTS S_FIXED)
    if(NOT entry MATCHES "^([a-z0-9_.]+)/([a-z]+)=(.*)$")
      message(FATAL_ERROR "${where}: FIXED entry '${entry}' is not <variant>/<detector>=<kinds>: <reason>")
    endif()
    set(v ${CMAKE_MATCH_1})
    set(d ${CMAKE_MATCH_2})
    if(NOT v IN_LIST variants OR v STREQUAL "buggy" OR NOT d IN_LIST detectors)
      message(FATAL_ERROR "${where}: FIXED entry '${entry}': no such fixed variant or detector")
    endif()
    _racebed_parse_expect("${CMAKE_MATCH_3}" kinds reason "${where} FIXED ${v}/${d}")
    if(reason STREQUAL "")
      message(FATAL_ERROR "${where}: FIXED entry '${entry}' needs a reason after a colon")
    endif()
    set(expect_${v}_${d} "${kinds}")
    set(reason_${v}_${d} "${reason}")
  endforeach()

  # Tests, for the detectors this tree can run, and the manifest records the
  # matrix reads.
  _racebed_json_string("${S_SUMMARY}" jsummary)
  foreach(v IN LISTS variants)
    if(v STREQUAL "buggy")
      set(target buggy.${name})
      set(vlabel buggy)
    else()
      string(REPLACE "fixed" "fixed.${name}" target "${v}")
      set(vlabel fixed)
    endif()
    # Every cell's expectation, whatever this tree runs: the expected matrix
    # (ci/matrix.py --expected, and the README's table) is drawn from it.
    foreach(d IN ITEMS native ${detectors})
      if(d STREQUAL "native")
        set(ekinds "")
        set(ereason "")
      else()
        set(ekinds "${expect_${v}_${d}}")
        set(ereason "${reason_${v}_${d}}")
      endif()
      _racebed_json_string("${ereason}" jreason)
      string(REPLACE "," "\",\"" jkinds "${ekinds}")
      if(NOT jkinds STREQUAL "")
        set(jkinds "\"${jkinds}\"")
      endif()
      set_property(GLOBAL APPEND PROPERTY RACEBED_EXPECTATIONS
        "{\"scenario\":\"${name}\",\"class\":\"${S_CLASS}\",\"kind\":\"${S_KIND}\",\"summary\":${jsummary},\"variant\":\"${v}\",\"detector\":\"${d}\",\"test\":\"${name}.${v}.${d}\",\"expected\":[${jkinds}],\"reason\":${jreason}}")
    endforeach()
    foreach(d IN LISTS RACEBED_TREE_DETECTORS)
      if(d STREQUAL "native")
        set(kinds "")
        set(reason "")
      elseif(d IN_LIST detectors)
        set(kinds "${expect_${v}_${d}}")
        set(reason "${reason_${v}_${d}}")
      else()
        continue()
      endif()
      if(d STREQUAL "lockgraph" AND NOT TARGET lockgraph)
        continue()
      endif()
      set(test ${name}.${v}.${d})
      set(extra "")
      if(d STREQUAL "lockgraph")
        set(extra --lockgraph-lib $<TARGET_FILE:lockgraph>)
      endif()
      add_test(NAME ${test}
        COMMAND ${Python3_EXECUTABLE} ${PROJECT_SOURCE_DIR}/cmake/judge.py
          --scenario ${name} --class ${S_CLASS} --kind ${S_KIND}
          --variant ${v} --detector ${d}
          "--expect=${kinds}" "--reason=${reason}"
          --program $<TARGET_FILE:${target}>
          --results ${CMAKE_BINARY_DIR}/results
          --timeout ${RACEBED_TIMEOUT_${d}} ${extra}
          -- ${S_ARGS})
      math(EXPR ctest_timeout "${RACEBED_TIMEOUT_${d}} + 30")
      set_tests_properties(${test} PROPERTIES
        LABELS "scenario;${vlabel};${S_CLASS};${d}"
        TIMEOUT ${ctest_timeout})
      _racebed_json_string("${reason}" jreason)
      string(REPLACE "," "\",\"" jkinds "${kinds}")
      if(NOT jkinds STREQUAL "")
        set(jkinds "\"${jkinds}\"")
      endif()
      set_property(GLOBAL APPEND PROPERTY RACEBED_MANIFEST
        "{\"scenario\":\"${name}\",\"class\":\"${S_CLASS}\",\"kind\":\"${S_KIND}\",\"summary\":${jsummary},\"variant\":\"${v}\",\"detector\":\"${d}\",\"test\":\"${test}\",\"expected\":[${jkinds}],\"reason\":${jreason}}")
    endforeach()
  endforeach()
endfunction()

# Write every registered (scenario, variant, detector) cell of this tree to
# racebed-manifest.json, so the matrix knows which results must exist, and
# every cell of every tree to racebed-expectations.json (the expected matrix).
function(racebed_write_manifest)
  get_property(records GLOBAL PROPERTY RACEBED_MANIFEST)
  string(JOIN ",\n " body ${records})
  file(WRITE ${CMAKE_BINARY_DIR}/racebed-manifest.json "[\n ${body}\n]\n")
  get_property(records GLOBAL PROPERTY RACEBED_EXPECTATIONS)
  string(JOIN ",\n " body ${records})
  file(WRITE ${CMAKE_BINARY_DIR}/racebed-expectations.json "[\n ${body}\n]\n")
endfunction()
