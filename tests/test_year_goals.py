"""The targets a document sets for one year, asked without naming what: every sentence that sets something by that
year, quoted and cited; a year the document sets nothing for is not answered with another year's targets."""

from __future__ import annotations

from assistant.core import Assistant
from ingest.pipeline import ingest_paths
from kb.settings import load_settings

PLAN = """# 某区关于进一步推进应急避难场所建设的实施方案

一、目标任务

（一）到2025年，全区建成等级应急避难场所避难面积达到87.75万平方米，人均避难面积达到2.3平方米。

（二）到2035年，全区应急避难场所基本满足应急避难需求，等级应急避难场所避难面积达到111.41万平方米，人均避难面积达到3.0平方米。

二、保障措施

加强组织领导，落实属地责任。
"""


def _assistant(tmp_path) -> Assistant:
    path = tmp_path / "shelters.md"
    path.write_text(PLAN, encoding="utf-8")
    settings = load_settings(data_dir=tmp_path / "data", embedder="hash")
    assert not ingest_paths(settings, [path]).failed
    return Assistant(settings)


def test_the_targets_set_for_a_year_are_quoted_with_their_source(tmp_path):
    a = _assistant(tmp_path).ask("应急避难场所实施方案里2035年的目标是什么？")
    assert not a.refused, a.text
    assert "111.41" in a.text and "3.0平方米" in a.text
    assert "87.75" not in a.text  # the 2025 targets are another year's
    assert any("111.41万平方米" in c.quote for c in a.citations)


def test_a_year_without_targets_gets_no_other_years_targets(tmp_path):
    a = _assistant(tmp_path).ask("应急避难场所实施方案里2030年的目标是什么？")
    assert "111.41" not in a.text and "87.75" not in a.text, a.text


REWARDS = """# 某镇物业服务考核奖励办法

一、物业项目奖励

B类物业项目按半年度考核得分评选一等奖、二等奖。具体标准如下：

B类普通商品房小区：

一等奖：给予物业项目奖励7.5万元/半年/个

二等奖：给予物业项目奖励5万元/半年/个

C类老公房小区：

一等奖：给予物业项目奖励2.5万元/半年/个

二等奖：给予物业项目奖励1万元/半年/个
"""


def test_an_item_under_a_label_line_is_the_labels_quantity(tmp_path):
    path = tmp_path / "rewards.md"
    path.write_text(REWARDS, encoding="utf-8")
    settings = load_settings(data_dir=tmp_path / "data", embedder="hash")
    assert not ingest_paths(settings, [path]).failed
    bot = Assistant(settings)
    a = bot.ask("物业服务考核奖励办法里，C类老公房小区一等奖奖励多少？")
    assert "2.5万元" in a.text and "7.5" not in a.text, a.text
    b = bot.ask("物业服务考核奖励办法里，B类普通商品房小区二等奖奖励多少？")
    assert "5万元" in b.text and "7.5" not in b.text and "1万元" not in b.text, b.text
