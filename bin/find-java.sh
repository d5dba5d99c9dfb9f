# Sourced by the other scripts in bin/: sets JAVA_HOME to a JDK 21 or newer, or stops with a message.
# Order: $JAVA_HOME if it is 21+, the `java` on PATH if it is 21+, then the newest JDK under /usr/lib/jvm
# (Debian and Temurin packages install there) and /opt.

java_major() {
  # Prints the feature version of the java binary given, e.g. 17 or 25; nothing if it does not run.
  "$1" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java\.specification\.version = \([0-9][0-9]*\).*/\1/p' | head -n 1
}

find_jdk21() {
  local candidate major best="" best_major=0
  if [ -n "${JAVA_HOME:-}" ] && [ -x "$JAVA_HOME/bin/javac" ]; then
    major=$(java_major "$JAVA_HOME/bin/java")
    if [ -n "$major" ] && [ "$major" -ge 21 ]; then echo "$JAVA_HOME"; return 0; fi
  fi
  if command -v javac >/dev/null 2>&1; then
    candidate=$(dirname "$(dirname "$(readlink -f "$(command -v javac)")")")
    major=$(java_major "$candidate/bin/java")
    if [ -n "$major" ] && [ "$major" -ge 21 ]; then echo "$candidate"; return 0; fi
  fi
  for candidate in /usr/lib/jvm/* /opt/*jdk* /opt/java/*; do
    [ -x "$candidate/bin/javac" ] || continue
    major=$(java_major "$candidate/bin/java")
    if [ -n "$major" ] && [ "$major" -ge 21 ] && [ "$major" -gt "$best_major" ]; then
      best="$candidate"; best_major="$major"
    fi
  done
  [ -n "$best" ] && { echo "$best"; return 0; }
  return 1
}

# The JAVA_HOME given, kept for the message: a failed search below leaves JAVA_HOME empty.
given_java_home=${JAVA_HOME:-}
if ! JAVA_HOME=$(find_jdk21); then
  echo "llm-metrics needs a JDK 21 or newer (Helidon 4 requires it), and none was found:" >&2
  on_path=none
  if command -v java >/dev/null 2>&1; then on_path=$(java -version 2>&1 | head -n 1); fi
  if [ -z "$given_java_home" ]; then
    given="<unset>"
  elif [ -x "$given_java_home/bin/java" ] && [ ! -x "$given_java_home/bin/javac" ]; then
    given="$given_java_home (Java $(java_major "$given_java_home/bin/java"), a JRE: no javac to build with)"
  elif [ -x "$given_java_home/bin/java" ]; then
    given="$given_java_home (Java $(java_major "$given_java_home/bin/java"))"
  else
    given="$given_java_home (no bin/java there)"
  fi
  echo "  JAVA_HOME=$given, java on PATH: $on_path," >&2
  echo "  nothing newer under /usr/lib/jvm or /opt." >&2
  echo "Install one (Debian: apt-get install openjdk-21-jdk-headless) or point JAVA_HOME at it." >&2
  exit 1
fi
export JAVA_HOME
export PATH="$JAVA_HOME/bin:$PATH"
# Maven 3.8 on JDK 24+ warns about its own use of sun.misc.Unsafe; the warning is noise here.
if [ "$(java_major "$JAVA_HOME/bin/java")" -ge 24 ]; then
  export MAVEN_OPTS="${MAVEN_OPTS:-} --sun-misc-unsafe-memory-access=allow"
fi
