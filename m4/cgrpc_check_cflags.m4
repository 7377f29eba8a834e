# CGRPC_CHECK_CFLAGS(VAR, FLAGS): append to VAR each of FLAGS the C compiler accepts.
AC_DEFUN([CGRPC_CHECK_CFLAGS], [
  AC_LANG_PUSH([C])
  for cgrpc_flag in $2; do
    AC_MSG_CHECKING([whether $CC accepts $cgrpc_flag])
    cgrpc_save_CFLAGS=$CFLAGS
    CFLAGS="$CFLAGS -Werror $cgrpc_flag"
    AC_COMPILE_IFELSE([AC_LANG_PROGRAM([], [])],
      [AC_MSG_RESULT([yes]); $1="$$1 $cgrpc_flag"], [AC_MSG_RESULT([no])])
    CFLAGS=$cgrpc_save_CFLAGS
  done
  AC_SUBST([$1])
  AC_LANG_POP([C])
])
