"""Chat logs: a shop's own export read, checked and turned into the records the metrics read.

    from sim import chatlog
    log = chatlog.read_log("data/sample_log.csv", duty="data/sample_log.duty.csv")
    log.conversations, log.messages     # DataFrames, as the metrics read them
    chatlog.log_metrics(log).values     # platform rates per day and over the whole log

Fitting a scenario to a log and backtesting it are `sim.tools.fit.fit_log` and
`sim.tools.backtest.backtest`. The format is in docs/chat-log.md; `sim.chatlog.format` holds
its columns and the format file (`--columns map.yaml`) that maps a real export's names onto
them.
"""

from sim.chatlog.errors import ChatLogError
from sim.chatlog.format import COLUMNS, DUTY_COLUMNS, LogFormat, load_format
from sim.chatlog.log import ChatLog, read_log
from sim.chatlog.measure import LogMetrics, log_metrics

__all__ = ["COLUMNS", "DUTY_COLUMNS", "ChatLog", "ChatLogError", "LogFormat", "LogMetrics",
           "load_format", "log_metrics", "read_log"]
