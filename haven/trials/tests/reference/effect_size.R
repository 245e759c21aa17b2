# Reference output for haven/trials/tests/test_effect_size.py, with R's effectsize package
# (cohens_d / hedges_g, pooled SD, noncentral-t intervals) on the CDISC pilot's ADAS-Cog (11) at week
# 24, LOCF, efficacy population (as ancova_adas.R):
#   between  CHG of Xanomeline High Dose vs Placebo (and Low Dose vs Placebo)
#   within   AVAL vs BASE of the placebo arm (paired)
# Run from the repository root:
#   Rscript haven/trials/tests/reference/effect_size.R ../shared/data/cdiscpilot01/adam/adqsadas.csv.gz haven/trials/tests/reference/effect_size.csv

suppressPackageStartupMessages(library(effectsize))
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(gzfile(args[[1]]))
d <- d[d$PARAMCD == "ACTOT" & d$AVISIT == "Week 24" & d$EFFFL == "Y" & d$ANL01FL == "Y", ]
chg <- function(arm) d$CHG[d$TRTP == arm]
pbo <- d[d$TRTP == "Placebo", ]
cases <- list(
  list("between_high", "d", cohens_d(chg("Xanomeline High Dose"), chg("Placebo"))),
  list("between_high", "g", hedges_g(chg("Xanomeline High Dose"), chg("Placebo"))),
  list("between_low", "d", cohens_d(chg("Xanomeline Low Dose"), chg("Placebo"))),
  list("between_low", "g", hedges_g(chg("Xanomeline Low Dose"), chg("Placebo"))),
  list("within_placebo", "d", cohens_d(pbo$AVAL, pbo$BASE, paired = TRUE)),
  list("within_placebo", "g", hedges_g(pbo$AVAL, pbo$BASE, paired = TRUE))
)
out <- do.call(rbind, lapply(cases, function(c) {
  data.frame(case = c[[1]], type = c[[2]], estimate = sprintf("%.15g", c[[3]][[1]]),
    lower = sprintf("%.15g", c[[3]]$CI_low), upper = sprintf("%.15g", c[[3]]$CI_high))
}))
writeLines(c(
  paste0("# ", R.version.string, "; effectsize ", packageVersion("effectsize")),
  capture.output(write.csv(out, row.names = FALSE))
), args[[2]])
