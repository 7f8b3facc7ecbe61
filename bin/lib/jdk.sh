# Sourced by bin/ scripts: finds a JDK 21+ without help from the user.
# Order: $JAVA_HOME if it is 21+, else the newest JDK 21+ under /usr/lib/jvm.
# The machine's default `java` may be 17 and is never used.

fjord_jdk_major() { # $1 = a JDK home; prints its major version or nothing
  local home=$1 v=""
  [ -x "$home/bin/java" ] && [ -x "$home/bin/javac" ] || return 0
  if [ -f "$home/release" ]; then
    v=$(sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$home/release")
  fi
  if [ -z "$v" ]; then
    v=$("$home/bin/java" -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n 1)
  fi
  printf '%s' "$v"
}

fjord_find_jdk() { # prints a JDK 21+ home, or fails with a message on stderr
  local major best="" best_major=0 dir
  if [ -n "${JAVA_HOME:-}" ]; then
    major=$(fjord_jdk_major "$JAVA_HOME")
    if [ -n "$major" ] && [ "$major" -ge 21 ]; then
      printf '%s\n' "$JAVA_HOME"
      return 0
    fi
  fi
  for dir in /usr/lib/jvm/*; do
    [ -d "$dir" ] && [ ! -L "$dir" ] || continue
    major=$(fjord_jdk_major "$dir")
    if [ -n "$major" ] && [ "$major" -ge 21 ] && [ "$major" -gt "$best_major" ]; then
      best=$dir
      best_major=$major
    fi
  done
  if [ -z "$best" ]; then
    echo "fjord: no JDK 21 or newer found (JAVA_HOME=${JAVA_HOME:-unset}, none under /usr/lib/jvm); install one" >&2
    return 1
  fi
  printf '%s\n' "$best"
}

fjord_maven_env() { # quiets Maven's own sun.misc.Unsafe warnings on JDK 24+ (the flag is unknown before 23)
  local major
  major=$(fjord_jdk_major "$JAVA_HOME")
  if [ -n "$major" ] && [ "$major" -ge 24 ]; then
    MAVEN_OPTS="${MAVEN_OPTS:-} --sun-misc-unsafe-memory-access=allow"
    export MAVEN_OPTS
  fi
}
