# Reference output for haven/trials/tests/test_summary.py: the CDISC pilot's summary of vital signs at
# baseline and end of treatment. advs, safety population (SAFFL == "Y"), analysis records
# (ANL01FL == "Y"); systolic and diastolic blood pressure and pulse (PARAMCD SYSBP, DIABP, PULSE), each
# position (ATPT, in ATPTN order), at Baseline, Week 24 and End of Treatment, per actual arm (TRTA):
# n, mean, sd (n - 1), median, min and max of the non-missing AVAL, and of CHG after baseline. Base R
# only; figures printed with 17 significant digits. Run from the repository root:
#   Rscript haven/trials/tests/reference/vitals_advs.R ../shared/data/cdiscpilot01/adam/advs.csv.gz haven/trials/tests/reference/vitals_advs.csv

args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(gzfile(args[[1]]))
d <- d[d$SAFFL %in% "Y" & d$ANL01FL %in% "Y", ]
params <- c("SYSBP", "DIABP", "PULSE")
visits <- c("Baseline", "Week 24", "End of Treatment")
arms <- c("Placebo", "Xanomeline Low Dose", "Xanomeline High Dose")
timing <- unique(d[!is.na(d$ATPTN), c("ATPTN", "ATPT")])
positions <- timing$ATPT[order(timing$ATPTN)]

figure <- function(x) sprintf("%.17g", x)
rows <- list()
for (param in params) {
  for (position in positions) {
    for (visit in visits) {
      for (arm in arms) {
        s <- d[d$PARAMCD == param & d$ATPT == position & d$AVISIT == visit & d$TRTA == arm, ]
        variables <- if (visit == "Baseline") "AVAL" else c("AVAL", "CHG")
        for (variable in variables) {
          x <- s[[variable]]
          x <- x[!is.na(x)]
          rows[[length(rows) + 1]] <- data.frame(
            param = param, position = position, visit = visit, arm = arm, variable = variable,
            n = length(x), mean = figure(mean(x)), sd = figure(sd(x)), median = figure(median(x)),
            minimum = figure(min(x)), maximum = figure(max(x))
          )
        }
      }
    }
  }
}
out <- do.call(rbind, rows)
writeLines(c(
  paste0("# ", R.version.string, "; ", nrow(d), " analysis records in the safety population"),
  capture.output(write.csv(out, row.names = FALSE))
), args[[2]])
