"""Config: defaults from files, env overrides, and errors that name the file, key and problem."""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from newswire.config import load_config
from newswire.errors import ConfigError

REPO_CONFIG = Path(__file__).parents[1] / "config"


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    target = tmp_path / "config"
    shutil.copytree(REPO_CONFIG, target)
    return target


def edit(path: Path, change: dict[str, object]) -> None:
    data = yaml.safe_load(path.read_text())
    for dotted, value in change.items():
        node = data
        *parents, last = dotted.split(".")
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        node[last] = value
    path.write_text(yaml.safe_dump(data, allow_unicode=True))


def test_shipped_config_loads_with_its_defaults(config_dir: Path) -> None:
    config = load_config(config_dir, environ={})
    assert config.settings.kafka.bootstrap_servers == "embedded"
    assert config.settings.topics.articles == "news.articles"
    assert config.settings.poll.default_interval == 300.0
    outlets = {feed.outlet.id for feed in config.feeds}
    assert {"shafaq-news", "jerusalem-post"} <= outlets and len(outlets) >= 8
    jpost = {f.id: f.url for f in config.feeds if f.outlet.id == "jerusalem-post"}
    assert len(jpost) == 3 and all(
        u.startswith("https://www.jpost.com/rss/") for u in jpost.values()
    )
    assert len({f.id for f in config.feeds}) == len(config.feeds)


def test_env_overrides_any_setting_and_kafka_bootstrap_servers_works_as_is(
    config_dir: Path,
) -> None:
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": "kafka:9092",
        "NEWSWIRE_HTTP__READ_TIMEOUT": "2m",
        "NEWSWIRE_TOPICS__PARTITIONS": "12",
        "NEWSWIRE_EXTRACT__FAST": "false",
    }
    settings = load_config(config_dir, environ=env).settings
    assert settings.kafka.bootstrap_servers == "kafka:9092"
    assert settings.http.read_timeout == 120.0
    assert settings.topics.partitions == 12
    assert settings.extract.fast is False


def test_newswire_variable_wins_over_kafka_bootstrap_servers(config_dir: Path) -> None:
    env = {"KAFKA_BOOTSTRAP_SERVERS": "a:9092", "NEWSWIRE_KAFKA__BOOTSTRAP_SERVERS": "b:9092"}
    assert load_config(config_dir, environ=env).settings.kafka.bootstrap_servers == "b:9092"


def test_list_settings_take_yaml_from_env(config_dir: Path) -> None:
    env = {"NEWSWIRE_ROUTES": "[{topic: news.region.syria, match: [SY]}]"}
    routes = load_config(config_dir, environ=env).settings.routes
    assert [(r.topic, r.match) for r in routes] == [("news.region.syria", ("SY",))]


def test_bad_env_value_names_the_variable_the_key_and_the_problem(config_dir: Path) -> None:
    with pytest.raises(ConfigError) as error:
        load_config(config_dir, environ={"NEWSWIRE_KAFKA__LINGER_MS": "soon"})
    message = str(error.value)
    assert "NEWSWIRE_KAFKA__LINGER_MS" in message
    assert "kafka.linger_ms" in message
    assert "valid integer" in message


def test_bad_file_value_names_the_file_and_key(config_dir: Path) -> None:
    edit(config_dir / "newswire.yaml", {"poll.default_interval": "often"})
    with pytest.raises(ConfigError) as error:
        load_config(config_dir, environ={})
    assert str(error.value).startswith(f"{config_dir / 'newswire.yaml'}: poll.default_interval:")
    assert "'often' is not a duration" in str(error.value)


def test_http2_on_the_aiohttp_transport_is_refused_naming_both_keys(config_dir: Path) -> None:
    with pytest.raises(ConfigError, match=r"http: .*http2: true needs transport: httpx"):
        load_config(config_dir, environ={"NEWSWIRE_HTTP__HTTP2": "true"})
    env = {"NEWSWIRE_HTTP__HTTP2": "true", "NEWSWIRE_HTTP__TRANSPORT": "httpx"}
    assert load_config(config_dir, environ=env).settings.http.http2


def test_unknown_setting_is_refused(config_dir: Path) -> None:
    with pytest.raises(ConfigError, match=r"kafka\.bootstrap_server: unknown setting"):
        load_config(config_dir, environ={"NEWSWIRE_KAFKA__BOOTSTRAP_SERVER": "x:1"})


def test_bad_feed_url_and_duplicate_outlet_are_named(config_dir: Path) -> None:
    feeds = config_dir / "feeds.yaml"
    edit(feeds, {"outlets.0.feeds.0.url": "ftp://shafaq.com/rss"})
    with pytest.raises(ConfigError, match=r"feeds\.yaml: outlets\.0\.feeds\.0\.url: .*not an http"):
        load_config(config_dir, environ={})
    data = yaml.safe_load((REPO_CONFIG / "feeds.yaml").read_text())
    data["outlets"].append(data["outlets"][0])
    feeds.write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError, match=r"duplicate outlet id 'shafaq-news'"):
        load_config(config_dir, environ={})


def test_an_outlet_country_is_a_country_code_of_the_gazetteer(config_dir: Path) -> None:
    feeds = config_dir / "feeds.yaml"
    edit(feeds, {"outlets.0.country": "Iraq"})
    with pytest.raises(ConfigError, match=r"outlets\.0\.country: .*pattern"):
        load_config(config_dir, environ={})
    edit(feeds, {"outlets.0.country": "XQ"})
    with pytest.raises(ConfigError, match=r"outlets: shafaq-news: country: 'XQ' is not a country"):
        load_config(config_dir, environ={})
    edit(feeds, {"outlets.0.country": "IQ"})
    feed = load_config(config_dir, environ={}).feeds[0]
    assert (feed.outlet.id, feed.outlet.country) == ("shafaq-news", "IQ")


def test_an_outlet_area_is_a_subdivision_of_its_country(config_dir: Path) -> None:
    feeds = config_dir / "feeds.yaml"
    edit(feeds, {"outlets.0.country": "IQ", "outlets.0.area": "US-TX"})
    with pytest.raises(ConfigError, match=r"shafaq-news: area: 'US-TX' is not a state or .*IQ"):
        load_config(config_dir, environ={})
    edit(feeds, {"outlets.0.country": None, "outlets.0.area": "Texas"})
    with pytest.raises(ConfigError, match=r"outlets\.0\.area: .*pattern"):
        load_config(config_dir, environ={})
    edit(feeds, {"outlets.0.area": "US-TX"})  # the country follows from the area
    outlet = load_config(config_dir, environ={}).feeds[0].outlet
    assert (outlet.country, outlet.area) == ("US", "US-TX")


def test_bad_cleaning_regex_is_named(config_dir: Path) -> None:
    edit(config_dir / "feeds.yaml", {"outlets.0.cleaning.datelines": ["(unclosed"]})
    with pytest.raises(ConfigError, match=r"outlets\.0\.cleaning\.datelines\.0: .*regular expr"):
        load_config(config_dir, environ={})


def test_route_to_unknown_region_is_refused(config_dir: Path) -> None:
    with pytest.raises(ConfigError, match=r"routes\.0\.match: unknown region ids \['atlantis'\]"):
        load_config(config_dir, environ={"NEWSWIRE_ROUTES": "[{topic: t, match: [atlantis]}]"})


def test_routes_match_iso_codes_of_governorates(config_dir: Path) -> None:
    from newswire.publish.producer import routed_topics
    from newswire.tag.tagger import Tagger
    from tests.builders import fixture_article

    env = {"NEWSWIRE_ROUTES": "[{topic: news.region.deir-ez-zor, match: [SY-DY]}]"}
    config = load_config(config_dir, environ=env)
    article = fixture_article("shafaq-albukamal-strikes", "shafaq-news", "https://shafaq.com/x")
    tagging = Tagger(config.gazetteer).tag(article.title, article.text)
    routed = routed_topics(dataclasses.replace(article, tagging=tagging), config.settings)
    assert "news.region.deir-ez-zor" in routed


def test_region_with_unknown_parent_is_refused(config_dir: Path) -> None:
    edit(config_dir / "regions.yaml", {"places.1.parent": "nowhere"})
    with pytest.raises(ConfigError, match=r"regions.yaml: .*parent 'nowhere' is not a place"):
        load_config(config_dir, environ={})


def test_missing_and_unparsable_files(config_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"nope.yaml: cannot read"):
        load_config(config_dir, feeds_file=tmp_path / "nope.yaml", environ={})
    (config_dir / "regions.yaml").write_text("places: [unclosed")
    with pytest.raises(ConfigError, match=r"regions.yaml: not valid YAML"):
        load_config(config_dir, environ={})


def test_cli_exits_2_with_the_message(config_dir: Path) -> None:
    edit(config_dir / "newswire.yaml", {"topics.partitions": 0})
    result = subprocess.run(
        [sys.executable, "-m", "newswire", "--config", str(config_dir), "check"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "topics.partitions: Input should be greater than or equal to 1" in result.stderr


def test_cli_check_lists_the_feeds(config_dir: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "newswire", "--config", str(config_dir), "check"],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "", "HOME": str(config_dir)},
    )
    assert result.returncode == 0, result.stderr
    assert "config OK" in result.stdout
    assert "https://shafaq.com/en/rss" in result.stdout


def test_cli_feeds_option_replaces_the_feed_list(config_dir: Path, tmp_path: Path) -> None:
    feeds = tmp_path / "mine.yaml"
    feeds.write_text(
        yaml.safe_dump(
            {
                "outlets": [
                    {"id": "local", "name": "Local", "feeds": [{"url": "http://127.0.0.1:8/rss"}]}
                ]
            }
        )
    )
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "newswire",
            "--config",
            str(config_dir),
            "--feeds",
            str(feeds),
            "check",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "1 outlets, 1 feeds" in result.stdout
    assert "http://127.0.0.1:8/rss" in result.stdout
