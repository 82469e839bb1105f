"""Hand-written form variants the seed does not contain, shared by the core tests.

Each is a small document in a layout or with damage reported for MinerU, PaddleOCR, Docling or
Marker output; the expected values are written out in the tests that use them.
"""

# 万元 amounts with the whole-project column filled, （2026年度） full-width, 2026/1/1 dates,
# 成本指标 as level 1, wrapped labels, a level-2 name without its 指标 suffix, and the indicator
# table split over two pages with a repeated header row and a page footer between.
WANYUAN_SPLIT = """\
某区2026年度项目支出绩效目标

财 政 项 目 支 出 绩 效 目 标 申 报 表

（2026年度）

| 项目名称 | 社区养老服务中心运营补贴 | 项目 性质 | 阶段 性项 目 | 项目类别 | 其他运转类 |
|---|---|---|---|---|---|
| 主管部门 | 某区民政局 | 实施单位 | 某区养老服务指导中心 | | |
| 计划开始 日期 | 2026/1/1 | 计划完成 日期 | 2026/12/31 | | |
| 项目资金（万元） | 项目资金总额 | 1,280.50 | 年度资金申请总额 | 500.00 | |
| | 其中：财政资金 | 1,200.50 | 其中：当年财政拨款 | 420.00 | |
| | | | 上年结转资金 | 60.00 | |
| | 其他资金 | 80.00 | 其他资金 | 20.00 | |
| 项目 绩效 目标 | 项目总体目标(2024 年-2026 年) | | 年度总体目标 | | |
| | 三年内建成覆盖全区的社区养老服务网络。 | | 完成12家中心的运营补贴发放。 | | |
| | 一级指标 | 二级指标 | 三级指标 | 指标值 | |
| 绩效 指标 | 产出指标 | 数量指标 | 补贴中心数量 | =12(家) | |
| | | 质量 指标 | 服务规范达标率 | ≥95(%) | |
| | 成本指标 | 经济成本指标 | 单次服务成本 | ≤４.30(元/人次) | |

第 1 页 共 2 页

| 一级指标 | 二级指标 | 三级指标 | 指标值 |
|---|---|---|---|
| | 社会成本 指标 | 社会成本控制 | 有效控制 |
| 效益指标 | 社会效益 | 老年人生活质量 | 提升 |
| 满意度指标 | 服务对象 满意度指 标 | 老年人满意度 | ≥90(%) |
"""

# The title is the first row of the form's own table (PaddleOCR), the year row too, and the
# second form lost its title altogether: its 项目名称 row starts a new form.
TITLE_IN_TABLE = """\
| 财政项目支出绩效目标申报表 | | | |
|---|---|---|---|
| (2025年度) | | | |
| 项目名称 | 河道保洁 | 项目性质 | 其他经常性项目 |
| 主管部门 | 某区水务局 | 实施单位 | 某区河道管理所 |
| 计划开始日期 | 2025-01-01 | 计划完成日期 | 2025-12-31 |
| 项目资金(元) | 年度资金申请总额 | 3,2OO,OOO.OO | |
| | 其中：当年财政拨款 | 3,200,000.00 | |
| | 上年结转资金 | 0 | |
| | 其他资金 | 0 | |
| 年度总体目标 | 保持河道整洁。 | | |
| 产出指标 | 数量指标 | 保洁河道长度 | 985米 |
| 满意度指标 | 服务对象满意度指标 | 居民满意度 | $\\geq 90.00\\%$ |

| 项目名称 | 泵站运维 | 项目性质 | 其他经常性项目 |
|---|---|---|---|
| 主管部门 | 某区水务局 | 实施单位 | 某区排水所 |
| 产出指标 | 时效指标 | 故障响应时间 | ≤2.00(小时) |
"""

# MinerU/Docling HTML table with explicit merges.
HTML_FORM = """\
财政项目支出绩效目标申报表
(2025年度)
<table>
<tr><td>项目名称</td><td colspan="2">校园安全改造</td><td>项目性质</td><td>其他一次性项目</td></tr>
<tr><td rowspan="4">项目资金（元）</td><td>年度资金申请总额</td><td colspan="3">100,000.00</td></tr>
<tr><td>其中：当年财政拨款</td><td colspan="3">100,000.00</td></tr>
<tr><td>上年结转资金</td><td colspan="3">0.00</td></tr>
<tr><td>其他资金</td><td colspan="3">0.00</td></tr>
<tr><td>一级指标</td><td>二级指标</td><td>三级指标</td><td colspan="2">指标值</td></tr>
<tr><td rowspan="3">产出指标</td><td rowspan="2">数量指标</td><td>改造教室</td><td colspan="2">=20(间)</td></tr>
<tr><td>更换门禁</td><td colspan="2">=4(套)</td></tr>
<tr><td>质量指标</td><td>验收合格率</td><td colspan="2">=100%</td></tr>
<tr><td>效益指标</td><td>社会效益指标</td><td>校园安全水平</td><td colspan="2">提高</td></tr>
</table>
"""
