# Reference output for the structured covariances in haven/trials/tests/test_mmrm_structures.py.
#
# FEV1 ~ ARMCD * AVISIT + RACE + SEX by REML on fev_data (observed rows), fitted with nlme::gls:
#   cs   corCompSymm                            ar1   corAR1 on the visit number
#   csh  corCompSymm + varIdent(~ 1 | AVISIT)   arh1  corAR1 + varIdent(~ 1 | AVISIT)
# LS means and TRT - PBO contrasts on emmeans' grid; Satterthwaite df computed here on the natural
# parameters as in mmrm_fev.R; Kenward-Roger (adjusted covariance, contrast SEs, the arm-by-visit F
# test) in the same natural parameters, with R_ij from numDeriv second derivatives. Run from the repository root:
#
#   Rscript haven/trials/tests/reference/mmrm_fev_structures.R ../shared/data/mmrm/fev_data.csv haven/trials/tests/reference/mmrm_fev_structures.json

suppressPackageStartupMessages({
  library(nlme)
  library(emmeans)
  library(numDeriv)
})

args <- commandArgs(trailingOnly = TRUE)
fev <- read.csv(args[[1]])
fev$USUBJID <- factor(fev$USUBJID)
fev$AVISIT <- factor(fev$AVISIT, levels = c("VIS1", "VIS2", "VIS3", "VIS4"))
fev$ARMCD <- factor(fev$ARMCD, levels = c("PBO", "TRT"))
fev$RACE <- factor(fev$RACE)
fev$SEX <- factor(fev$SEX)
fev$VISITNO <- as.integer(fev$AVISIT)
fev <- fev[!is.na(fev$FEV1), ]

X <- model.matrix(FEV1 ~ ARMCD * AVISIT + RACE + SEX, data = fev)
y <- fev$FEV1
subj <- split(seq_len(nrow(fev)), droplevels(fev$USUBJID))
vis <- fev$VISITNO
lag <- abs(outer(1:4, 1:4, "-"))

# Natural parameters (SAS PROC MIXED's): cs (common covariance c, residual variance r), Sigma = r I + c J;
# csh and arh1 (visit variances, rho); ar1 (variance, rho).
sigma_of <- function(code, par) {
  if (code == "cs") {
    return(par[2] * diag(4) + par[1] * matrix(1, 4, 4))
  }
  rho <- par[length(par)]
  corr <- if (code == "csh") ifelse(lag == 0, 1, rho) else rho^lag
  sd <- if (code %in% c("csh", "arh1")) sqrt(par[1:4]) else rep(sqrt(par[1]), 4)
  outer(sd, sd) * corr
}
precision_sums <- function(s) {
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
reml_m2ll <- function(s) {
  ps <- precision_sums(s)
  beta <- solve(ps$xtvx, ps$xtvy)
  quad <- 0
  for (rows in subj) {
    v <- vis[rows]
    r <- y[rows] - X[rows, , drop = FALSE] %*% beta
    quad <- quad + as.numeric(t(r) %*% solve(s[v, v, drop = FALSE], r))
  }
  ps$logdet + as.numeric(determinant(ps$xtvx)$modulus) + quad
}

# The LS-means grid (equal weights over RACE and SEX) and the TRT - PBO contrasts, taken from emmeans
# on the same formula fitted by lm (the grid depends on the formula only).
grid_fit <- lm(FEV1 ~ ARMCD * AVISIT + RACE + SEX, data = fev)
grid_emm <- emmeans(grid_fit, ~ ARMCD | AVISIT)
emm_L <- grid_emm@linfct
con_L <- contrast(grid_emm, "trt.vs.ctrl")@linfct
inter_L <- contrast(grid_emm, interaction = c("consec", "consec"), by = NULL)@linfct

one <- function(code) {
  corr <- if (code %in% c("cs", "csh")) corCompSymm(form = ~ 1 | USUBJID) else corAR1(form = ~ VISITNO | USUBJID)
  control <- glsControl(tolerance = 1e-10, msTol = 1e-10, maxIter = 500, msMaxIter = 500)
  fit <- if (code %in% c("csh", "arh1")) {
    gls(FEV1 ~ ARMCD * AVISIT + RACE + SEX, data = fev, correlation = corr,
      weights = varIdent(form = ~ 1 | AVISIT), method = "REML", control = control)
  } else {
    gls(FEV1 ~ ARMCD * AVISIT + RACE + SEX, data = fev, correlation = corr, method = "REML", control = control)
  }
  complete <- names(which(table(fev$USUBJID) == 4))[1]
  s <- unclass(getVarCov(fit, individual = complete))
  rho <- s[1, 2] / sqrt(s[1, 1] * s[2, 2])
  par <- if (code == "cs") c(s[1, 2], s[1, 1] - s[1, 2]) else if (code %in% c("csh", "arh1")) c(diag(s), rho) else c(s[1, 1], rho)
  H <- numDeriv::hessian(function(p) reml_m2ll(sigma_of(code, p)), par)
  W <- solve(H / 2)
  J <- numDeriv::jacobian(function(p) as.vector(solve(precision_sums(sigma_of(code, p))$xtvx)), par)
  k <- ncol(X)
  satt_df <- function(l) {
    v <- as.numeric(t(l) %*% vcov(fit) %*% l)
    g <- vapply(seq_len(ncol(J)), function(j) as.numeric(t(l) %*% matrix(J[, j], k, k) %*% l), 0)
    2 * v^2 / as.numeric(t(g) %*% W %*% g)
  }
  # Kenward-Roger in the natural parameters: first and second derivatives of Sigma by numDeriv.
  phi <- vcov(fit)
  q_par <- length(par)
  d1 <- lapply(seq_len(q_par), function(i) {
    matrix(numDeriv::jacobian(function(p) as.vector(sigma_of(code, p)), par)[, i], 4, 4)
  })
  d2 <- lapply(seq_len(q_par), function(i) lapply(seq_len(q_par), function(j) matrix(0, 4, 4)))
  if (code != "cs") {
    for (a in 1:4) for (b in 1:4) {
      hab <- numDeriv::hessian(function(p) sigma_of(code, p)[a, b], par)
      for (i in seq_len(q_par)) for (j in seq_len(q_par)) d2[[i]][[j]][a, b] <- hab[i, j]
    }
  }
  P <- lapply(seq_len(q_par), function(i) matrix(0, k, k))
  Q <- lapply(seq_len(q_par), function(i) lapply(seq_len(q_par), function(j) matrix(0, k, k)))
  R <- Q
  for (rows in subj) {
    v <- vis[rows]
    si <- solve(s[v, v, drop = FALSE])
    xi <- X[rows, , drop = FALSE]
    for (i in seq_len(q_par)) {
      di <- d1[[i]][v, v, drop = FALSE]
      P[[i]] <- P[[i]] - t(xi) %*% si %*% di %*% si %*% xi
      for (j in seq_len(q_par)) {
        dj <- d1[[j]][v, v, drop = FALSE]
        Q[[i]][[j]] <- Q[[i]][[j]] + t(xi) %*% si %*% di %*% si %*% dj %*% si %*% xi
        R[[i]][[j]] <- R[[i]][[j]] + t(xi) %*% si %*% d2[[i]][[j]][v, v, drop = FALSE] %*% si %*% xi
      }
    }
  }
  inner <- matrix(0, k, k)
  for (i in seq_len(q_par)) for (j in seq_len(q_par)) {
    inner <- inner + W[i, j] * (Q[[i]][[j]] - P[[i]] %*% phi %*% P[[j]] - R[[i]][[j]] / 4)
  }
  phi_a <- phi + 2 * phi %*% inner %*% phi
  kr_test <- function(L) {
    qq <- nrow(L)
    theta_m <- t(L) %*% solve(L %*% phi %*% t(L)) %*% L
    f_i <- lapply(P, function(Pi) theta_m %*% phi %*% Pi %*% phi)
    a1 <- 0
    a2 <- 0
    for (i in seq_len(q_par)) for (j in seq_len(q_par)) {
      a1 <- a1 + W[i, j] * sum(diag(f_i[[i]])) * sum(diag(f_i[[j]]))
      a2 <- a2 + W[i, j] * sum(diag(f_i[[i]] %*% f_i[[j]]))
    }
    b <- (a1 + 6 * a2) / (2 * qq)
    g <- ((qq + 1) * a1 - (qq + 4) * a2) / ((qq + 2) * a2)
    den <- 3 * qq + 2 * (1 - g)
    e_star <- 1 / (1 - a2 / qq)
    v_star <- (2 / qq) * (1 + g / den * b) / ((1 - (qq - g) / den * b)^2 * (1 - (qq + 2 - g) / den * b))
    rho_kr <- v_star / (2 * e_star^2)
    m <- 4 + (qq + 2) / (qq * rho_kr - 1)
    lambda <- m / (e_star * (m - 2))
    lb <- L %*% coef(fit)
    f_value <- lambda * as.numeric(t(lb) %*% solve(L %*% phi_a %*% t(L), lb)) / qq
    c(f_value, m)
  }
  est <- function(L) as.vector(L %*% coef(fit))
  se <- function(L) sqrt(diag(L %*% vcov(fit) %*% t(L)))
  list(
    reml_loglik = as.numeric(logLik(fit)),
    coef = unname(coef(fit)),
    vcov = unname(vcov(fit)),
    covariance = unname(s),
    lsmean = est(emm_L), lsmean_se = se(emm_L), lsmean_df = apply(emm_L, 1, satt_df),
    contrast = est(con_L), contrast_se = se(con_L), contrast_df = apply(con_L, 1, satt_df),
    kr_vcov = unname(phi_a),
    kr_contrast_se = sqrt(diag(con_L %*% phi_a %*% t(con_L))),
    kr_interaction = kr_test(inter_L)
  )
}

codes <- c("cs", "csh", "ar1", "arh1")
out <- lapply(codes, one)
names(out) <- codes
out$software <- list(
  R = R.version.string,
  nlme = as.character(packageVersion("nlme")),
  emmeans = as.character(packageVersion("emmeans")),
  numDeriv = as.character(packageVersion("numDeriv"))
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
