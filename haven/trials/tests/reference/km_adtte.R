# Reference output for haven/trials/tests/test_survival.py: the CDISC pilot's time to first
# dermatologic event (adtte, PARAMCD TTDE, event = 1 - CNSR), by actual treatment TRTA, with R's
# survival package: survfit (Kaplan-Meier, Greenwood, conf.type = "log"), its median and interval
# (print.survfit's table), numbers at risk at fixed days, and survdiff (log-rank). Run from the
# repository root:
#   Rscript haven/trials/tests/reference/km_adtte.R ../shared/data/cdiscpilot01/adam/adtte.csv haven/trials/tests/reference/km_adtte.json

suppressPackageStartupMessages(library(survival))
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[[1]])
d <- d[d$PARAMCD == "TTDE", ]
d$EVENT <- 1 - d$CNSR
arms <- sort(unique(d$TRTA))
days <- c(0, 25, 50, 75, 100, 125, 150, 175, 200)

per_arm <- lapply(arms, function(a) {
  s <- d[d$TRTA == a, ]
  fit <- survfit(Surv(AVAL, EVENT) ~ 1, data = s)
  sm <- summary(fit, censored = TRUE)
  tab <- summary(fit)$table
  list(
    arm = a,
    time = sm$time, n_risk = sm$n.risk, n_event = sm$n.event, n_censor = sm$n.censor,
    survival = sm$surv, std_err = sm$std.err, lower = sm$lower, upper = sm$upper,
    median = unname(tab[c("median", "0.95LCL", "0.95UCL")]),
    at_risk = summary(fit, times = days, extend = TRUE)$n.risk
  )
})
names(per_arm) <- arms
lr <- survdiff(Surv(AVAL, EVENT) ~ TRTA, data = d)

json_num <- function(x) ifelse(is.na(x), "null", formatC(x, digits = 15, format = "g"))
to_json <- function(x, indent = "") {
  inner <- paste0(indent, "  ")
  if (is.list(x)) {
    parts <- vapply(seq_along(x), function(i) paste0(inner, "\"", names(x)[[i]], "\": ", to_json(x[[i]], inner)), "")
    return(paste0("{\n", paste(parts, collapse = ",\n"), "\n", indent, "}"))
  }
  vals <- if (is.character(x)) paste0("\"", x, "\"") else json_num(x)
  if (length(x) == 1 && is.character(x)) {
    return(vals)
  }
  paste0("[", paste(vals, collapse = ", "), "]")
}
writeLines(to_json(list(
  software = list(R = R.version.string, survival = as.character(packageVersion("survival"))),
  days = days,
  arms = per_arm,
  logrank = list(groups = arms, observed = unname(lr$obs), expected = unname(lr$exp), chi_square = lr$chisq,
    df = length(arms) - 1, p = pchisq(lr$chisq, length(arms) - 1, lower.tail = FALSE))
)), args[[2]])
