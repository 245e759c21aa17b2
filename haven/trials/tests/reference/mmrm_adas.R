# Reference output for haven/trials/tests/test_mmrm_adas.py: the MMRM version of the CDISC pilot's
# primary analysis. ADAS-Cog (11) change from baseline, observed cases (no LOCF rows: DTYPE empty),
# efficacy population, analysis records (ANL01FL == "Y") at weeks 8, 16 and 24;
#   main           CHG ~ TRTP * AVISIT + SITEGR1 + BASE
#   base_by_visit  the same + AVISIT:BASE (a baseline slope per visit)
# unstructured covariance (corSymm + varIdent), REML.
# LS means at week 24 and each dose minus placebo per visit on emmeans' grid (pooled sites weighted
# equally, BASE at its mean over the analysed rows); Satterthwaite df as in mmrm_fev.R (numDeriv on a
# REML likelihood in the elements of Sigma). Run from the repository root:
#   Rscript haven/trials/tests/reference/mmrm_adas.R ../shared/data/cdiscpilot01/adam/adqsadas.csv.gz haven/trials/tests/reference/mmrm_adas.json

suppressPackageStartupMessages({
  library(nlme)
  library(emmeans)
  library(numDeriv)
})
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(gzfile(args[[1]]))
visits <- c("Week 8", "Week 16", "Week 24")
arms <- c("Placebo", "Xanomeline Low Dose", "Xanomeline High Dose")
d <- d[d$PARAMCD == "ACTOT" & d$EFFFL == "Y" & d$ANL01FL == "Y" & d$AVISIT %in% visits & d$DTYPE == "", ]
d$AVISIT <- factor(d$AVISIT, levels = visits)
d$TRTP <- factor(d$TRTP, levels = arms)
d$SITEGR1 <- factor(d$SITEGR1)
d$USUBJID <- factor(d$USUBJID)
d <- d[order(d$USUBJID, d$AVISIT), ]

analyse <- function(model) {
  fit <- gls(model, data = d,
    correlation = corSymm(form = ~ as.integer(AVISIT) | USUBJID), weights = varIdent(form = ~ 1 | AVISIT),
    method = "REML", control = glsControl(tolerance = 1e-10, msTol = 1e-10, maxIter = 500, msMaxIter = 500))
  complete <- names(which(table(droplevels(d$USUBJID)) == 3))[1]
  sigma_mat <- unclass(getVarCov(fit, individual = complete))

  grid_fit <- lm(model, data = d)
  grid <- emmeans(grid_fit, ~ TRTP | AVISIT)
  emm_L <- grid@linfct
  con_L <- contrast(grid, "trt.vs.ctrl")@linfct

  X <- model.matrix(model, data = d)
  y <- d$CHG
  subj <- split(seq_len(nrow(d)), droplevels(d$USUBJID))
  vis <- as.integer(d$AVISIT)
  lt <- which(lower.tri(sigma_mat, diag = TRUE))
  to_sigma <- function(theta) {
    s <- matrix(0, 3, 3)
    s[lt] <- theta
    s + t(s) - diag(diag(s))
  }
  precision_sums <- function(theta) {
    s <- to_sigma(theta)
    xtvx <- matrix(0, ncol(X), ncol(X))
    xtvy <- rep(0, ncol(X))
    logdet <- 0
    for (rows in subj) {
      v <- vis[rows]
      si <- solve(s[v, v, drop = FALSE])
      xi <- X[rows, , drop = FALSE]
      xtvx <- xtvx + t(xi) %*% si %*% xi
      xtvy <- xtvy + t(xi) %*% si %*% y[rows]
      logdet <- logdet + as.numeric(determinant(s[v, v, drop = FALSE])$modulus)
    }
    list(xtvx = xtvx, xtvy = xtvy, logdet = logdet)
  }
  reml_m2ll <- function(theta) {
    ps <- precision_sums(theta)
    beta <- solve(ps$xtvx, ps$xtvy)
    s <- to_sigma(theta)
    quad <- 0
    for (rows in subj) {
      v <- vis[rows]
      r <- y[rows] - X[rows, , drop = FALSE] %*% beta
      quad <- quad + as.numeric(t(r) %*% solve(s[v, v, drop = FALSE], r))
    }
    ps$logdet + as.numeric(determinant(ps$xtvx)$modulus) + quad
  }
  theta_hat <- sigma_mat[lt]
  W <- solve(numDeriv::hessian(reml_m2ll, theta_hat) / 2)
  J <- numDeriv::jacobian(function(th) as.vector(solve(precision_sums(th)$xtvx)), theta_hat)
  p <- ncol(X)
  satt_df <- function(k) {
    v <- as.numeric(t(k) %*% vcov(fit) %*% k)
    g <- vapply(seq_len(ncol(J)), function(j) as.numeric(t(k) %*% matrix(J[, j], p, p) %*% k), 0)
    2 * v^2 / as.numeric(t(g) %*% W %*% g)
  }
  est <- function(L) as.vector(L %*% coef(fit))
  se <- function(L) sqrt(diag(L %*% vcov(fit) %*% t(L)))

  list(
    formula = deparse(model),
    n_obs = nrow(d),
    n_subjects = length(subj),
    reml_loglik = as.numeric(logLik(fit)),
    coef_names = names(coef(fit)),
    coef = unname(coef(fit)),
    covariance = unname(sigma_mat),
    lsmean_labels = paste(as.character(grid@grid$TRTP), as.character(grid@grid$AVISIT)),
    lsmean = est(emm_L), lsmean_se = se(emm_L), lsmean_df = apply(emm_L, 1, satt_df),
    contrast = est(con_L), contrast_se = se(con_L), contrast_df = apply(con_L, 1, satt_df)
  )
}

out <- list(
  software = list(R = R.version.string, nlme = as.character(packageVersion("nlme")),
    emmeans = as.character(packageVersion("emmeans")), numDeriv = as.character(packageVersion("numDeriv"))),
  main = analyse(CHG ~ TRTP * AVISIT + SITEGR1 + BASE),
  base_by_visit = analyse(CHG ~ TRTP * AVISIT + SITEGR1 + BASE + AVISIT:BASE)
)
json_num <- function(x) formatC(x, digits = 15, format = "g")
to_json <- function(x, indent = "") {
  inner <- paste0(indent, "  ")
  if (is.list(x)) {
    parts <- vapply(seq_along(x), function(i) paste0(inner, "\"", names(x)[[i]], "\": ", to_json(x[[i]], inner)), "")
    return(paste0("{\n", paste(parts, collapse = ",\n"), "\n", indent, "}"))
  }
  if (is.matrix(x)) {
    rows <- apply(x, 1, function(r) paste0("[", paste(json_num(r), collapse = ", "), "]"))
    return(paste0("[\n", inner, paste(rows, collapse = paste0(",\n", inner)), "\n", indent, "]"))
  }
  vals <- if (is.character(x)) paste0("\"", x, "\"") else json_num(x)
  if (length(x) == 1) {
    return(vals)
  }
  paste0("[", paste(vals, collapse = ", "), "]")
}
writeLines(to_json(out), args[[2]])
