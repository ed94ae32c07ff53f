import pytest


@pytest.fixture(scope="session")
def spark(tmp_path_factory):
    """Spark for real, started once for every Spark test: local[2], bound to 127.0.0.1.

    Java comes from the README's test command (Debian's openjdk-17-jre-headless) and
    pyspark from the dev extra; a missing one fails here, it does not skip. The JVM's own
    stderr goes to a temp file (never the user's log dir)."""
    from recbot.ranking.spark import spark_session

    log = tmp_path_factory.mktemp("spark-log") / "spark-jvm.log"
    session = spark_session("local[2]", jvm_log=log)
    yield session
    session.stop()
